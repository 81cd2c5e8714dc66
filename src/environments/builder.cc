#include "environments/builder.h"

#include <chrono>
#include <cstdio>
#include <ctime>

#include "environments/command.h"

namespace environments {
namespace {

namespace fs = std::filesystem;
using common::Result;

std::string UtcNow() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

Result<Built> BuildRoot(const Store& store, const Recipe& recipe, const std::string& hash,
                        const BuildOptions& options) {
  auto build_dir = store.NewBuildDir();
  if (!build_dir) return std::unexpected(build_dir.error());
  std::printf("building environment \"%s\" (recipe %s) in %s\n", recipe.name.c_str(), hash.c_str(),
              build_dir->c_str());
  std::fflush(stdout);
  const auto started = std::chrono::steady_clock::now();
  auto ran = RunCommand({"/bin/bash", recipe.builder.string(), recipe.dir.string(),
                         (*build_dir / "root").string(), store.CacheDir().string()},
                        {{"SUITE", options.suite}, {"MIRROR", options.mirror}});
  if (!ran) {
    store.Discard(*build_dir);
    return std::unexpected(ran.error());
  }
  Built built;
  built.name = recipe.name;
  built.hash = hash;
  built.build_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  built.size_bytes = DiskUsage(*build_dir / "root");
  built.built_at = UtcNow();
  auto installed = store.Install(*build_dir, std::move(built));
  if (!installed) store.Discard(*build_dir);
  return installed;
}

}  // namespace

std::string DockerImageFor(const Built& built) {
  return "code-interpreter-env-" + built.name + ":" + built.hash;
}

Result<BuildReport> Build(const Store& store, const Recipe& recipe, const BuildOptions& options) {
  auto hash = RecipeHash(recipe, options.suite, options.mirror);
  if (!hash) return std::unexpected(hash.error());
  BuildReport report;
  if (auto existing = store.Find(recipe.name);
      existing && existing->hash == *hash && !options.force) {
    report.built = std::move(*existing);
    report.reused = true;
  } else {
    auto built = BuildRoot(store, recipe, *hash, options);
    if (!built) return std::unexpected(built.error());
    report.built = std::move(*built);
  }
  if (options.docker) {
    const std::string image = DockerImageFor(report.built);
    auto imported =
        RunCommand({"/bin/bash", (recipe.builder.parent_path() / "docker-import.sh").string(),
                    report.built.root.string(), image});
    if (!imported) return std::unexpected(imported.error());
    if (report.built.docker_image != image) {
      if (auto set = store.SetDockerImage(report.built, image); !set)
        return std::unexpected(set.error());
      report.built.docker_image = image;
    }
  }
  return report;
}

}  // namespace environments
