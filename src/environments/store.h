// Store: the environments built on this machine, one directory per environment under the
// store's root (default /var/lib/code-interpreter/environments):
//
//   <store>/<name>/current            the hash of the build in use (replaced atomically)
//   <store>/<name>/<hash>/root/       the root filesystem, read-only for everyone but root
//   <store>/<name>/<hash>/manifest.json
//   <store>/.cache/                   what builds share (the debootstrapped base, .debs)
//
// A build is made in a temporary directory of the store and renamed into place, so a reader
// sees a complete build or none; the previous build of the name is removed after the switch.
// Not thread-safe: one caller at a time (the CLI, serve at start-up).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/result.h"

namespace environments {

struct Built {
  std::string name{};
  std::string hash{};  // of the recipe it was built from (recipe.h)
  std::filesystem::path root{};
  std::uint64_t size_bytes = 0;  // disk usage of root
  double build_seconds = 0;
  std::string built_at{};      // UTC, ISO 8601
  std::string docker_image{};  // "code-interpreter-env-<name>:<hash>" once imported, else empty
};

// Environment names: 1-32 of [a-z0-9_-], starting with a letter or digit. "host" is reserved
// for the host's own system.
bool ValidName(const std::string& name);

class Store {
 public:
  explicit Store(std::filesystem::path dir) : dir_(std::move(dir)) {}
  const std::filesystem::path& Dir() const { return dir_; }
  std::filesystem::path CacheDir() const { return dir_ / ".cache"; }

  // Every environment with a complete current build, by name.
  common::Result<std::vector<Built>> List() const;
  // The current build of `name`; an error that says so when there is none.
  common::Result<Built> Find(const std::string& name) const;
  // A new, empty directory in the store to build into (removed by Install or Discard).
  common::Result<std::filesystem::path> NewBuildDir() const;
  // Moves the build in `build_dir` (holding root/) into place as the current build of
  // `built.name`, writes its manifest and removes the previous build.
  common::Result<Built> Install(const std::filesystem::path& build_dir, Built built) const;
  void Discard(const std::filesystem::path& build_dir) const;
  // Records that the build was imported into docker as `image`.
  common::Result<void> SetDockerImage(const Built& built, const std::string& image) const;
  // Removes every build of `name`; false when there was none.
  common::Result<bool> Remove(const std::string& name) const;

 private:
  std::filesystem::path dir_;
};

// The whole content of a (small) file: manifests, recipes.
common::Result<std::string> ReadText(const std::filesystem::path& path);

// Disk usage of a tree (st_blocks), not following links, not crossing mounts.
std::uint64_t DiskUsage(const std::filesystem::path& root);

}  // namespace environments
