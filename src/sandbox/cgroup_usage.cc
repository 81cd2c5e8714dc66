#include "sandbox/cgroup_usage.h"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace sandbox {
namespace {

namespace fs = std::filesystem;

std::optional<std::uint64_t> ReadNumber(const std::string& path) {
  if (path.empty()) return std::nullopt;
  std::ifstream in(path);
  std::uint64_t value = 0;
  if (!(in >> value)) return std::nullopt;
  return value;
}

// "usage_usec 123" in cpu.stat.
std::optional<std::uint64_t> ReadCpuStatUsec(const std::string& path) {
  std::ifstream in(path);
  std::string key;
  std::uint64_t value = 0;
  while (in >> key >> value) {
    if (key == "usage_usec") return value;
  }
  return std::nullopt;
}

}  // namespace

UsageReader UsageReader::ForV1(const std::string& memory_dir, const std::string& cpuacct_dir) {
  UsageReader reader;
  if (!cpuacct_dir.empty()) reader.cpu_file_ = (fs::path(cpuacct_dir) / "cpuacct.usage").string();
  if (!memory_dir.empty())
    reader.peak_file_ = (fs::path(memory_dir) / "memory.max_usage_in_bytes").string();
  return reader;
}

UsageReader UsageReader::ForV2(const std::string& dir) {
  UsageReader reader;
  reader.v2_ = true;
  reader.cpu_file_ = (fs::path(dir) / "cpu.stat").string();
  reader.peak_file_ = (fs::path(dir) / "memory.peak").string();
  return reader;
}

UsageReader UsageReader::ForProcess(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cgroup");
  std::string memory, cpuacct;
  // "hierarchy-id:controllers:path"; v2 is "0::path".
  for (std::string line; std::getline(in, line);) {
    const auto first = line.find(':');
    const auto second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    const std::string controllers = line.substr(first + 1, second - first - 1);
    const std::string path = line.substr(second + 1);
    if (controllers.empty() && line.starts_with("0:")) {
      const fs::path dir = fs::path("/sys/fs/cgroup") / fs::path(path).relative_path();
      if (fs::exists(dir / "memory.current")) return ForV2(dir.string());
      continue;
    }
    std::stringstream names(controllers);
    for (std::string name; std::getline(names, name, ',');) {
      const fs::path dir =
          fs::path("/sys/fs/cgroup") / controllers / fs::path(path).relative_path();
      if (name == "memory") memory = dir.string();
      if (name == "cpuacct") cpuacct = dir.string();
    }
  }
  return ForV1(memory, cpuacct);
}

std::optional<ResourceUsage> UsageReader::Read() const {
  const std::optional<std::uint64_t> cpu = v2_ ? [&]() -> std::optional<std::uint64_t> {
    auto usec = ReadCpuStatUsec(cpu_file_);
    if (!usec) return std::nullopt;
    return *usec * 1000;
  }()
      : ReadNumber(cpu_file_);
  const std::optional<std::uint64_t> peak = ReadNumber(peak_file_);
  if (!cpu && !peak) return std::nullopt;
  return ResourceUsage{cpu.value_or(0), peak.value_or(0)};
}

void UsageReader::ResetPeak() const {
  if (v2_ || peak_file_.empty()) return;
  std::ofstream(peak_file_) << "0";
}

}  // namespace sandbox
