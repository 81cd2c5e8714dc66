// `code-interpreter env build NAME | list | remove NAME`: the environments on this machine.
#include <cstdio>
#include <string>

#include "cli/options.h"
#include "environments/builder.h"
#include "environments/command.h"
#include "environments/recipe.h"
#include "environments/store.h"

namespace cli {
namespace {

std::string Megabytes(std::uint64_t bytes) {
  return std::to_string((bytes + (1u << 19)) >> 20) + " MiB";
}

int Build(const EnvOptions& o, const environments::Store& store) {
  auto recipe = environments::FindRecipe(o.recipes, o.name);
  if (!recipe) {
    std::fprintf(stderr, "env build: %s\n", recipe.error().message.c_str());
    return 2;
  }
  auto report = environments::Build(
      store, *recipe, {.suite = o.suite, .mirror = o.mirror, .force = o.force, .docker = o.docker});
  if (!report) {
    std::fprintf(stderr, "env build %s: %s\n", o.name.c_str(), report.error().message.c_str());
    return 1;
  }
  const environments::Built& b = report->built;
  std::printf("environment \"%s\" %s: recipe %s, %s, built in %.0f s at %s%s%s\n", b.name.c_str(),
              report->reused ? "is up to date" : "built", b.hash.c_str(),
              Megabytes(b.size_bytes).c_str(), b.build_seconds, b.built_at.c_str(),
              b.docker_image.empty() ? "" : ", docker image ", b.docker_image.c_str());
  return 0;
}

int List(const EnvOptions& o, const environments::Store& store) {
  auto built = store.List();
  if (!built) {
    std::fprintf(stderr, "env list: %s\n", built.error().message.c_str());
    return 1;
  }
  std::printf("%-16s %-16s %10s %8s  %-20s %s\n", "NAME", "RECIPE", "SIZE", "BUILD", "BUILT AT",
              "DOCKER IMAGE");
  std::printf("%-16s %-16s %10s %8s  %-20s %s\n", "host", "-", "-", "-", "-",
              "(the host's own /usr; docker: --docker-image)");
  for (const auto& b : *built) {
    std::string state = b.hash;
    if (auto recipe = environments::FindRecipe(o.recipes, b.name)) {
      auto hash = environments::RecipeHash(*recipe, o.suite, o.mirror);
      if (hash && *hash != b.hash) state += " (recipe changed)";
    }
    std::printf("%-16s %-16s %10s %7.0fs  %-20s %s\n", b.name.c_str(), state.c_str(),
                Megabytes(b.size_bytes).c_str(), b.build_seconds, b.built_at.c_str(),
                b.docker_image.empty() ? "-" : b.docker_image.c_str());
  }
  for (const std::string& name : environments::RecipeNames(o.recipes)) {
    if (!store.Find(name)) std::printf("%-16s %-16s (not built)\n", name.c_str(), "-");
  }
  return 0;
}

int Remove(const EnvOptions& o, const environments::Store& store) {
  auto found = store.Find(o.name);
  auto removed = store.Remove(o.name);
  if (!removed) {
    std::fprintf(stderr, "env remove: %s\n", removed.error().message.c_str());
    return 1;
  }
  if (found && !found->docker_image.empty()) {
    // Best effort: the engine may be gone, or containers may still use the image.
    (void)environments::RunCommand(
        {"/bin/sh", "-c", "docker image rm \"$0\" >/dev/null 2>&1 || true", found->docker_image});
  }
  std::printf(*removed ? "removed environment \"%s\"\n" : "no environment \"%s\" was built\n",
              o.name.c_str());
  return *removed ? 0 : 1;
}

}  // namespace

std::filesystem::path DefaultEnvStore() { return DefaultStateDir() / "environments"; }

int Env(const EnvOptions& options) {
  EnvOptions o = options;
  if (o.store.empty()) o.store = DefaultEnvStore();
  const environments::Store store(o.store);
  if (o.action == "build") return Build(o, store);
  if (o.action == "remove") return Remove(o, store);
  return List(o, store);
}

}  // namespace cli
