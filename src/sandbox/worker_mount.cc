#include "sandbox/worker_mount.h"

#include <sys/mount.h>

#include <fstream>
#include <sstream>

namespace sandbox {
namespace {

std::string SourceFor(const std::string& scope) { return "ci-worker-" + scope; }

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string Unescape(const std::string& field) {
  std::string out;
  for (std::size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      out += static_cast<char>(std::stoi(field.substr(i + 1, 3), nullptr, 8));
      i += 3;
    } else {
      out += field[i];
    }
  }
  return out;
}

}  // namespace

common::Result<void> MountWorkerDir(const std::string& dir, const std::string& scope) {
  // The connection file and a handful of sockets: 1 MiB and 64 inodes are plenty.
  if (::mount(SourceFor(scope).c_str(), dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
              "mode=0700,size=1m,nr_inodes=64") != 0) {
    return common::ErrnoFail("mount(tmpfs on " + dir + ")");
  }
  return {};
}

void UnmountWorkerDir(const std::string& dir) {
  ::umount2(dir.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW);
}

std::vector<std::string> SweepWorkerMounts(const std::string& scope) {
  return SweepTmpfsMounts(SourceFor(scope));
}

std::vector<std::string> SweepTmpfsMounts(const std::string& source) {
  std::vector<std::string> swept;
  std::ifstream in("/proc/self/mountinfo");
  // id parent major:minor root mount-point options [optional...] - type source super-options
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, point, field;
    fields >> id >> parent >> dev >> root >> point;
    while (fields >> field && field != "-") {
    }
    std::string type, src;
    fields >> type >> src;
    if (type != "tmpfs" || src != source) continue;
    const std::string path = Unescape(point);
    UnmountWorkerDir(path);
    swept.push_back(path);
  }
  return swept;
}

}  // namespace sandbox
