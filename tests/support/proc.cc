#include "support/proc.h"

#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>

namespace testing_support {
namespace {

namespace fs = std::filesystem;

std::string StatusOf(int pid) { return ReadText("/proc/" + std::to_string(pid) + "/status"); }

// The value of "Name:" in /proc/<pid>/status text, or "".
std::string StatusField(const std::string& status, const std::string& name) {
  std::istringstream in(status);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name + ":", 0) == 0) {
      std::string value = line.substr(name.size() + 1);
      value.erase(0, value.find_first_not_of(" \t"));
      return value;
    }
  }
  return {};
}

bool IsZombie(const std::string& status) { return StatusField(status, "State").rfind('Z', 0) == 0; }

// The process whose /proc directory is `dir`, or nullopt when it is gone.
std::optional<HostProcess> ReadProcess(const fs::path& dir) {
  const std::string status = ReadText(dir / "status");
  if (status.empty()) return std::nullopt;
  HostProcess p;
  p.pid = std::stoi(dir.filename().string());
  p.ppid = std::atoi(StatusField(status, "PPid").c_str());
  p.uid = static_cast<unsigned>(std::strtoul(StatusField(status, "Uid").c_str(), nullptr, 10));
  p.comm = StatusField(status, "Name");
  p.zombie = IsZombie(status);
  std::istringstream cgroups(ReadText(dir / "cgroup"));
  for (std::string line; std::getline(cgroups, line);) {
    if (const auto at = line.find(":memory:"); at != std::string::npos)
      p.memory_cgroup = line.substr(at + 8);
    if (line.rfind("0::", 0) == 0) p.unified_cgroup = line.substr(3);
  }
  return p;
}

}  // namespace

std::string ReadText(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<HostProcess> HostProcesses() {
  std::vector<HostProcess> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    if (auto p = ReadProcess(entry.path())) out.push_back(std::move(*p));
  }
  return out;
}

int CountFds(pid_t pid) {
  int n = 0;
  std::error_code ec;
  for (auto it = fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != fs::end(it); it.increment(ec)) {
    ++n;
  }
  return n;
}

int CountThreads(pid_t pid) { return std::atoi(StatusField(StatusOf(pid), "Threads").c_str()); }

long RssKb(pid_t pid) { return std::atol(StatusField(StatusOf(pid), "VmRSS").c_str()); }

int ParentOf(int pid) { return std::atoi(StatusField(StatusOf(pid), "PPid").c_str()); }

bool ProcessGone(int pid) {
  const std::string status = StatusOf(pid);
  return status.empty() || IsZombie(status);
}

std::optional<unsigned> UidInside(int pid, unsigned host_uid) {
  std::istringstream lines(ReadText("/proc/" + std::to_string(pid) + "/uid_map"));
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    unsigned long long inside = 0, outside = 0, count = 0;
    if (!(fields >> inside >> outside >> count)) continue;
    if (host_uid >= outside && host_uid - outside < count)
      return static_cast<unsigned>(inside + (host_uid - outside));
  }
  return std::nullopt;
}

}  // namespace testing_support
