// Builder: makes an environment's root filesystem from its recipe, unless the store already
// holds a build of the same recipe hash, and imports it into docker on request. The work is
// done by environments/build-root.sh and environments/docker-import.sh (debootstrap, apt and
// `docker import` are tools, not our core); this side owns the cache key, the store and the
// report. For the CLI: blocks for minutes, one caller at a time, runs as root.
#pragma once

#include <filesystem>
#include <string>

#include "common/result.h"
#include "environments/recipe.h"
#include "environments/store.h"

namespace environments {

struct BuildOptions {
  std::string suite = "bookworm";
  std::string mirror = "http://deb.debian.org/debian";
  bool force = false;   // rebuild even when a build of the same hash exists
  bool docker = false;  // also import the root as a docker image (docker-import.sh)
};

struct BuildReport {
  Built built;
  bool reused = false;  // the store already held this recipe's build
};

common::Result<BuildReport> Build(const Store& store, const Recipe& recipe,
                                  const BuildOptions& options);

// The image name of a build: "code-interpreter-env-<name>:<hash>".
std::string DockerImageFor(const Built& built);

}  // namespace environments
