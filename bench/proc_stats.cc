#include "proc_stats.h"

#include <dirent.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include "stats.h"

namespace bench {
namespace {

// The fields of /proc/<pid>/stat after "(comm)": index 0 is the state (field 3).
std::vector<std::string> StatFields(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(in, line);
  const auto close = line.rfind(')');
  if (close == std::string::npos) return {};
  std::istringstream rest(line.substr(close + 2));
  std::vector<std::string> fields;
  for (std::string field; rest >> field;) fields.push_back(field);
  return fields;
}

std::vector<pid_t> AllPids() {
  std::vector<pid_t> pids;
  DIR* dir = ::opendir("/proc");
  if (dir == nullptr) return pids;
  while (const dirent* entry = ::readdir(dir)) {
    char* end = nullptr;
    const long pid = std::strtol(entry->d_name, &end, 10);
    if (*end == '\0' && pid > 0) pids.push_back(static_cast<pid_t>(pid));
  }
  ::closedir(dir);
  return pids;
}

std::multimap<pid_t, pid_t> ChildrenMap() {
  std::multimap<pid_t, pid_t> children;
  for (const pid_t pid : AllPids()) {
    const auto fields = StatFields(pid);
    if (fields.size() > 1) children.emplace(std::stoi(fields[1]), pid);
  }
  return children;
}

// A "Name:   123 kB" line of a /proc status-like file, as a number (kB for memory).
double Field(const std::string& path, const std::string& name) {
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name + ":", 0) == 0) return std::atof(line.c_str() + name.size() + 1);
  }
  return 0;
}

}  // namespace

double CpuSeconds(pid_t pid) {
  const auto fields = StatFields(pid);
  if (fields.size() < 13) return 0;
  const double ticks = std::stod(fields[11]) + std::stod(fields[12]);  // utime, stime
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double CpuSeconds(const std::vector<pid_t>& pids) {
  double sum = 0;
  for (const pid_t pid : pids) sum += CpuSeconds(pid);
  return sum;
}

std::vector<pid_t> Descendants(pid_t root) {
  const auto children = ChildrenMap();
  std::vector<pid_t> out, todo = {root};
  while (!todo.empty()) {
    const pid_t parent = todo.back();
    todo.pop_back();
    auto [begin, end] = children.equal_range(parent);
    for (auto it = begin; it != end; ++it) {
      out.push_back(it->second);
      todo.push_back(it->second);
    }
  }
  return out;
}

std::vector<pid_t> Tree(pid_t root) {
  std::vector<pid_t> out = {root};
  for (const pid_t pid : Descendants(root)) out.push_back(pid);
  return out;
}

std::vector<pid_t> Children(pid_t parent) {
  std::vector<pid_t> out;
  const auto children = ChildrenMap();
  auto [begin, end] = children.equal_range(parent);
  for (auto it = begin; it != end; ++it) out.push_back(it->second);
  return out;
}

pid_t ParentOf(pid_t pid) {
  const auto fields = StatFields(pid);
  return fields.size() > 1 ? std::stoi(fields[1]) : 0;
}

Memory MemoryOf(const std::vector<pid_t>& pids) {
  Memory sum;
  for (const pid_t pid : pids) {
    const std::string path = "/proc/" + std::to_string(pid) + "/smaps_rollup";
    sum.rss_mb += Field(path, "Rss") / 1024.0;
    sum.pss_mb += Field(path, "Pss") / 1024.0;
  }
  return sum;
}

double RssMb(pid_t pid) {
  return Field("/proc/" + std::to_string(pid) + "/status", "VmRSS") / 1024;
}

int Threads(pid_t pid) {
  return static_cast<int>(Field("/proc/" + std::to_string(pid) + "/status", "Threads"));
}

int OpenFds(pid_t pid) {
  int count = 0;
  DIR* dir = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
  if (dir == nullptr) return 0;
  while (const dirent* entry = ::readdir(dir)) count += entry->d_name[0] != '.';
  ::closedir(dir);
  return count;
}

Sampler::Sampler(pid_t pid, std::chrono::milliseconds interval) : pid_(pid) {
  thread_ = std::thread([this, interval] {
    const auto start = Clock::now();
    while (!stop_) {
      Sample sample{MsSince(start), RssMb(pid_), Threads(pid_), OpenFds(pid_)};
      {
        std::lock_guard lock(mu_);
        samples_.push_back(sample);
      }
      std::this_thread::sleep_for(interval);
    }
  });
}

Sampler::~Sampler() { Stop(); }

std::vector<Sampler::Sample> Sampler::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  return Samples();
}

std::vector<Sampler::Sample> Sampler::Samples() {
  std::lock_guard lock(mu_);
  return samples_;
}

std::string Shell(const std::string& command) {
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return {};
  std::string out;
  char buf[4096];
  while (const std::size_t n = std::fread(buf, 1, sizeof buf, pipe)) out.append(buf, n);
  ::pclose(pipe);
  return out;
}

std::vector<pid_t> DockerInitPids(const std::string& instance) {
  const std::string out =
      Shell("docker ps -q --filter label=org.code-interpreter.instance=" + instance +
            " | xargs -r docker inspect -f '{{.State.Pid}}' 2>/dev/null");
  std::vector<pid_t> pids;
  std::istringstream in(out);
  for (pid_t pid; in >> pid;)
    if (pid > 0) pids.push_back(pid);
  return pids;
}

}  // namespace bench
