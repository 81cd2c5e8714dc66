#include "jupyter/connection.h"

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "common/crypto.h"
#include "common/unique_fd.h"

namespace jupyter {

common::Result<ConnectionInfo> NewConnection(const std::filesystem::path& dir) {
  auto key = common::RandomHex(32);
  if (!key) return std::unexpected(key.error());
  ConnectionInfo info;
  info.ipc_prefix = (dir / "k").string();
  info.key = std::move(*key);
  // sun_path is 108 bytes including the terminating NUL.
  if (info.Endpoint(info.hb_port).size() - 6 > 107) {
    return common::Fail("socket path too long (over 107 bytes): " + info.ipc_prefix);
  }
  return info;
}

std::string ToJson(const ConnectionInfo& info) {
  const nlohmann::json j = {
      {"transport", "ipc"},
      {"ip", info.ipc_prefix},
      {"shell_port", info.shell_port},
      {"iopub_port", info.iopub_port},
      {"stdin_port", info.stdin_port},
      {"control_port", info.control_port},
      {"hb_port", info.hb_port},
      {"key", info.key},
      {"signature_scheme", "hmac-sha256"},
      {"kernel_name", "python3"},
  };
  return j.dump(2);
}

common::Result<void> WriteConnectionFile(const ConnectionInfo& info,
                                         const std::filesystem::path& file) {
  common::UniqueFd fd(
      ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.Valid()) return common::ErrnoFail("open(" + file.string() + ")");
  const std::string text = ToJson(info);
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd.Get(), text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return common::ErrnoFail("write(" + file.string() + ")");
    }
    done += static_cast<std::size_t>(n);
  }
  return {};
}

}  // namespace jupyter
