// Recipe: how an environment is built, kept in the repository as environments/<name>/
// (packages.txt, and optionally setup.sh, matplotlibrc, check.py; build-root.sh documents
// each). A recipe's hash covers every file in its directory, the builder script, the Debian
// suite and the mirror: a build is reused exactly while all of them are unchanged. Pure
// functions over files: any thread.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "common/result.h"

namespace environments {

struct Recipe {
  std::string name;
  std::filesystem::path dir;      // <recipes>/<name>
  std::filesystem::path builder;  // <recipes>/build-root.sh
};

// The recipe `name` under `recipes_dir`; an error listing the known ones when there is none.
common::Result<Recipe> FindRecipe(const std::filesystem::path& recipes_dir,
                                  const std::string& name);
// The names of the recipes under `recipes_dir` (directories with a packages.txt), sorted.
std::vector<std::string> RecipeNames(const std::filesystem::path& recipes_dir);
// 16 hex digits naming the recipe's content with the builder, `suite` and `mirror`.
common::Result<std::string> RecipeHash(const Recipe& recipe, const std::string& suite,
                                       const std::string& mirror);

}  // namespace environments
