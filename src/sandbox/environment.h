// Environment: the Python a kernel runs on, as a launcher needs it. A named root filesystem
// built from a recipe (environments/<name>/, see src/environments/store.h), or the host's own
// ("host": the namespaces sandbox then mounts the host's /usr, the docker backend runs
// --docker-image). A plain value.
#pragma once

#include <filesystem>
#include <string>

namespace sandbox {

struct Environment {
  std::string name = "host";
  // The built root filesystem (its usr/, etc/, ...), mounted read-only as the sandbox's
  // system; empty: the host's own.
  std::filesystem::path root;
  // The docker image made from that root; empty: the launcher's default image.
  std::string image;
};

}  // namespace sandbox
