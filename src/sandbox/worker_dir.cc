#include "sandbox/worker_dir.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/unique_fd.h"
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
  if (::chown(dir.c_str(), ::geteuid(), ::getegid()) == 0 && ::chmod(dir.c_str(), 0711) == 0)
    return true;
  spdlog::error("cannot seal worker directory {}: {}; killing the worker", dir,
                std::strerror(errno));
  return false;
}

common::Result<void> WriteKernelLimits(const std::string& dir, const KernelLimits& limits) {
  nlohmann::json json = {{"nproc", limits.nproc}};
  if (limits.data_bytes > 0) json["data"] = limits.data_bytes;
  const std::string text = json.dump();
  const common::UniqueFd parent(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!parent.Valid()) return common::ErrnoFail("open(" + dir + ")");
  // A fresh name, then a rename over the old file: nothing at either name is followed.
  const std::string temporary = std::string(kKernelLimitsFile) + ".new";
  ::unlinkat(parent.Get(), temporary.c_str(), 0);
  const common::UniqueFd file(::openat(parent.Get(), temporary.c_str(),
                                       O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0444));
  if (!file.Valid()) return common::ErrnoFail("create " + dir + "/" + temporary);
  if (::write(file.Get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    return common::ErrnoFail("write " + dir + "/" + temporary);
  if (::renameat(parent.Get(), temporary.c_str(), parent.Get(), kKernelLimitsFile) != 0)
    return common::ErrnoFail("rename " + dir + "/" + temporary);
  return {};
}

}  // namespace sandbox
