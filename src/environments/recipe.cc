#include "environments/recipe.h"

#include <algorithm>
#include <system_error>

#include "common/crypto.h"
#include "environments/store.h"

namespace environments {

namespace fs = std::filesystem;
using common::Fail;
using common::Result;

std::vector<std::string> RecipeNames(const fs::path& recipes_dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(recipes_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (ValidName(name) && fs::is_regular_file(entry.path() / "packages.txt", ec))
      names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

Result<Recipe> FindRecipe(const fs::path& recipes_dir, const std::string& name) {
  std::error_code ec;
  if (!ValidName(name) || !fs::is_regular_file(recipes_dir / name / "packages.txt", ec)) {
    std::string known;
    for (const std::string& n : RecipeNames(recipes_dir)) known += (known.empty() ? "" : ", ") + n;
    return Fail("no recipe \"" + name + "\" in " + recipes_dir.string() +
                (known.empty() ? " (it has none)" : " (known: " + known + ")"));
  }
  Recipe recipe{name, recipes_dir / name, recipes_dir / "build-root.sh"};
  if (!fs::is_regular_file(recipe.builder, ec))
    return Fail("the builder " + recipe.builder.string() + " is missing");
  return recipe;
}

Result<std::string> RecipeHash(const Recipe& recipe, const std::string& suite,
                               const std::string& mirror) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(recipe.dir, ec)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  if (ec) return Fail("cannot list " + recipe.dir.string() + ": " + ec.message());
  std::sort(files.begin(), files.end());
  files.push_back(recipe.builder);
  common::HmacSha256 digest("code-interpreter environment recipe");
  digest.Update(suite + "\n" + mirror + "\n");
  for (const fs::path& file : files) {
    auto text = ReadText(file);
    if (!text) return std::unexpected(text.error());
    const std::string name = file == recipe.builder ? "<builder>" : file.filename().string();
    digest.Update(name + "\n" + std::to_string(text->size()) + "\n");
    digest.Update(*text);
  }
  return digest.FinishHex().substr(0, 16);
}

}  // namespace environments
