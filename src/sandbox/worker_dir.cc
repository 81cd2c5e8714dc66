#include "sandbox/worker_dir.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "sandbox/init_spec.h"

namespace sandbox {

common::Result<std::string> PrepareWorkerDir(const WorkerSpec& spec, uid_t uid) {
  const std::filesystem::path file = spec.dir / "kernel-sandbox.json";
  const jupyter::ConnectionInfo inside = spec.connection.WithPrefix(std::string(kKernelDir) + "/k");
  if (auto written = jupyter::WriteConnectionFile(inside, file); !written) {
    return std::unexpected(written.error());
  }
  if (::chown(spec.dir.c_str(), uid, uid) != 0 || ::chown(file.c_str(), uid, uid) != 0) {
    return common::ErrnoFail("chown(" + spec.dir.string() + ")");
  }
  return std::string(kKernelDir) + "/" + file.filename().string();
}

bool SealWorkerDir(const std::string& dir) {
  if (::chown(dir.c_str(), ::geteuid(), ::getegid()) == 0 && ::chmod(dir.c_str(), 0700) == 0)
    return true;
  spdlog::error("cannot seal worker directory {}: {}; killing the worker", dir,
                std::strerror(errno));
  return false;
}

}  // namespace sandbox
