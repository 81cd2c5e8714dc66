#include "sandbox/container_init.h"

#include <sys/stat.h>

#include <filesystem>

namespace sandbox {

namespace fs = std::filesystem;

std::string DefaultContainerInit() {
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return kContainerInitName;
  return (self.parent_path() / kContainerInitName).string();
}

common::Result<std::string> InstallContainerInit(const std::string& binary,
                                                 const std::string& runtime_dir) {
  const fs::path target = fs::path(runtime_dir) / kContainerInitName;
  const fs::path partial = target.string() + ".partial";
  std::error_code ec;
  fs::copy_file(binary, partial, fs::copy_options::overwrite_existing, ec);
  if (ec) {
    return common::Fail("cannot copy the container init " + binary + " to " + partial.string() +
                        ": " + ec.message());
  }
  if (::chmod(partial.c_str(), 0755) != 0)
    return common::ErrnoFail("chmod(" + partial.string() + ")");
  fs::rename(partial, target, ec);
  if (ec) return common::Fail("cannot install " + target.string() + ": " + ec.message());
  return target.string();
}

}  // namespace sandbox
