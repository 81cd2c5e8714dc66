#include "sandbox/cgroup.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

namespace sandbox {
namespace {

namespace fs = std::filesystem;

constexpr const char* kGroup = "code-interpreter";

struct Layout {
  bool v2 = false;
  bool delegated = false;          // v2, the gateway's own group, delegated to an ordinary user
  std::vector<std::string> roots;  // v2: one root; v1: memory, pids[, cpu][, cpuacct]
  bool has_cpu = false;
  int cpuacct = -1;  // v1: the index in roots of the hierarchy with cpuacct.usage, or -1
};

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

common::Result<void> WriteFile(const fs::path& path, const std::string& value) {
  std::ofstream out(path);
  out << value;
  out.flush();
  if (!out) return common::ErrnoFail("write " + value + " to " + path.string());
  return {};
}

bool HasControllers(const fs::path& root) {
  const std::string controllers = ReadFile(root / "cgroup.controllers");
  return controllers.find("memory") != std::string::npos &&
         controllers.find("pids") != std::string::npos;
}

// The gateway's own group on the unified hierarchy ("0::/user.slice/.../app.scope"), or "".
std::string OwnUnifiedGroup() {
  std::ifstream in("/proc/self/cgroup");
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("0::")) return line.substr(3);
  }
  return {};
}

// An ordinary user's cgroups: only a v2 group delegated to it (systemd's user@.service, or a
// scope made with `systemd-run --user --scope -p Delegate=yes`): the one the gateway runs in,
// when this user may write it and it offers memory and pids.
std::optional<fs::path> DelegatedRoot(const fs::path& mount) {
  const std::string own = OwnUnifiedGroup();
  if (own.empty() || own == "/") return std::nullopt;
  const fs::path dir = mount / fs::path(own).relative_path();
  if (!HasControllers(dir) || ::access(dir.c_str(), W_OK) != 0 ||
      ::access((dir / "cgroup.subtree_control").c_str(), W_OK) != 0) {
    return std::nullopt;
  }
  return dir;
}

common::Result<Layout> DetectOnce() {
  Layout layout;
  for (const fs::path& mount : {fs::path("/sys/fs/cgroup"), fs::path("/sys/fs/cgroup/unified")}) {
    if (!fs::exists(mount / "cgroup.controllers")) continue;
    std::optional<fs::path> root;
    if (::geteuid() == 0) {
      if (HasControllers(mount)) root = mount;
    } else {
      root = DelegatedRoot(mount);
    }
    if (!root) continue;
    layout.v2 = true;
    layout.delegated = ::geteuid() != 0;
    layout.roots = {root->string()};
    layout.has_cpu = ReadFile(*root / "cgroup.controllers").find("cpu") != std::string::npos;
    return layout;
  }
  for (const char* controller : {"memory", "pids"}) {
    const fs::path root = fs::path("/sys/fs/cgroup") / controller;
    if (!fs::exists(root / "cgroup.procs")) {
      return common::Fail(std::string("no cgroup ") + controller +
                          " controller (neither cgroup v2 with memory+pids nor a v1 hierarchy at " +
                          root.string() + ")");
    }
    layout.roots.push_back(root.string());
  }
  if (fs::exists("/sys/fs/cgroup/cpu/cpu.cfs_quota_us")) {
    layout.roots.push_back("/sys/fs/cgroup/cpu");
    layout.has_cpu = true;
  }
  // CPU accounting, for each execution's usage: often mounted with cpu ("cpu,cpuacct").
  const fs::path cpuacct = "/sys/fs/cgroup/cpuacct";
  if (fs::exists(cpuacct / "cpuacct.usage")) {
    std::error_code ec;
    if (layout.has_cpu && fs::equivalent(cpuacct, "/sys/fs/cgroup/cpu", ec)) {
      layout.cpuacct = 2;
    } else {
      layout.roots.push_back(cpuacct.string());
      layout.cpuacct = static_cast<int>(layout.roots.size()) - 1;
    }
  }
  return layout;
}

// The layout as found at the first call: the hierarchies do not change under a running
// gateway, and a delegated gateway's own group does, once CheckHost() has moved it into its
// leaf (detecting again would then take the leaf for the root).
common::Result<Layout> Detect() {
  static const common::Result<Layout> layout = DetectOnce();
  return layout;
}

std::vector<pid_t> Procs(const fs::path& dir) {
  std::vector<pid_t> pids;
  std::ifstream in(dir / "cgroup.procs");
  for (pid_t pid; in >> pid;) pids.push_back(pid);
  return pids;
}

void KillAll(const fs::path& dir) {
  if (fs::exists(dir / "cgroup.kill")) (void)WriteFile(dir / "cgroup.kill", "1");
  // A forking process may add members while we kill: repeat until the group is empty.
  for (int round = 0; round < 200; ++round) {
    const std::vector<pid_t> pids = Procs(dir);
    if (pids.empty()) return;
    for (const pid_t pid : pids) ::kill(pid, SIGKILL);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

void RemoveDir(const fs::path& dir) {
  for (int attempt = 0; attempt < 200; ++attempt) {
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return;
    if (errno != EBUSY) return;
    KillAll(dir);  // dying members keep the group busy until they are reaped
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// Writes the v1 memory limit and the memory+swap one, which must never be below it: raising,
// memory+swap goes first; lowering, it is refused until the memory limit is lowered.
common::Result<void> WriteV1Memory(const fs::path& mem, const std::string& memory) {
  const fs::path memsw = mem / "memory.memsw.limit_in_bytes";
  // Without swap accounting there is nothing to escape to only if the host has no swap;
  // with it, memory+swap gets the same limit.
  if (!fs::exists(memsw)) return WriteFile(mem / "memory.limit_in_bytes", memory);
  if (WriteFile(memsw, memory)) return WriteFile(mem / "memory.limit_in_bytes", memory);
  if (auto r = WriteFile(mem / "memory.limit_in_bytes", memory); !r) return r;
  return WriteFile(memsw, memory);
}

common::Result<void> ApplyLimits(bool v2, bool has_cpu, const std::vector<std::string>& dirs,
                                 const ResourceLimits& limits) {
  const std::string memory = std::to_string(limits.memory_bytes);
  const std::string pids = std::to_string(limits.pids);
  const long period = 100000;
  const long quota = std::lround(limits.cpus * static_cast<double>(period));
  if (v2) {
    const fs::path dir = dirs[0];
    if (auto r = WriteFile(dir / "memory.max", memory); !r) return r;
    if (fs::exists(dir / "memory.swap.max")) (void)WriteFile(dir / "memory.swap.max", "0");
    if (auto r = WriteFile(dir / "pids.max", pids); !r) return r;
    if (has_cpu)
      (void)WriteFile(dir / "cpu.max", std::to_string(quota) + " " + std::to_string(period));
    return {};
  }
  const fs::path mem = dirs[0];
  if (auto r = WriteV1Memory(mem, memory); !r) return r;
  (void)WriteFile(mem / "memory.swappiness", "0");
  if (auto r = WriteFile(fs::path(dirs[1]) / "pids.max", pids); !r) return r;
  if (has_cpu) {
    const fs::path cpu = dirs[2];
    if (auto r = WriteFile(cpu / "cpu.cfs_period_us", std::to_string(period)); !r) return r;
    if (auto r = WriteFile(cpu / "cpu.cfs_quota_us", std::to_string(quota)); !r) return r;
  }
  return {};
}

}  // namespace

common::Result<void> Cgroup::CheckHost() {
  auto layout = Detect();
  if (!layout) return std::unexpected(layout.error());
  if (layout->delegated) {
    // A group with controllers enabled for its children may hold no process itself: the
    // gateway moves into a leaf of its own first (the workers' groups are its siblings).
    const fs::path leaf = fs::path(layout->roots[0]) / "gateway";
    std::error_code ec;
    fs::create_directories(leaf, ec);
    if (ec) return common::Fail("cannot create cgroup " + leaf.string() + ": " + ec.message());
    if (auto moved = WriteFile(leaf / "cgroup.procs", std::to_string(::getpid())); !moved)
      return moved;
    const std::string enable = layout->has_cpu ? "+memory +pids +cpu" : "+memory +pids";
    if (auto enabled = WriteFile(fs::path(layout->roots[0]) / "cgroup.subtree_control", enable);
        !enabled) {
      return enabled;
    }
  }
  for (const std::string& root : layout->roots) {
    const fs::path parent = fs::path(root) / kGroup;
    std::error_code ec;
    fs::create_directories(parent, ec);
    if (ec) return common::Fail("cannot create cgroup " + parent.string() + ": " + ec.message());
    // It may exist already (made by root): an ordinary user must also be able to write it.
    if (::access(parent.c_str(), W_OK) != 0)
      return common::ErrnoFail("cannot write cgroup " + parent.string());
  }
  return {};
}

common::Result<std::unique_ptr<Cgroup>> Cgroup::Create(const std::string& scope,
                                                       const std::string& name,
                                                       const Limits& limits) {
  auto layout = Detect();
  if (!layout) return std::unexpected(layout.error());
  std::vector<std::string> dirs;
  for (const std::string& root : layout->roots) {
    const fs::path parent = fs::path(root) / kGroup / scope;
    std::error_code ec;
    fs::create_directories(parent, ec);
    if (layout->v2) {
      // Delegate the controllers down to the workers' groups.
      const std::string enable = layout->has_cpu ? "+memory +pids +cpu" : "+memory +pids";
      for (const fs::path& level : {fs::path(root), fs::path(root) / kGroup, parent}) {
        (void)WriteFile(level / "cgroup.subtree_control", enable);
      }
    }
    const fs::path dir = parent / name;
    fs::remove(dir, ec);  // an empty leftover of the same name
    if (::mkdir(dir.c_str(), 0755) != 0) return common::ErrnoFail("mkdir(" + dir.string() + ")");
    dirs.push_back(dir.string());
  }
  const UsageReader usage =
      layout->v2 ? UsageReader::ForV2(dirs[0])
                 : UsageReader::ForV1(dirs[0], layout->cpuacct >= 0 ? dirs[layout->cpuacct] : "");
  std::unique_ptr<Cgroup> group(new Cgroup(dirs, layout->v2, layout->has_cpu, usage));
  if (auto applied = group->Update(ResourcesOf(limits)); !applied)
    return std::unexpected(applied.error());
  return group;
}

std::vector<std::string> Cgroup::SweepStale(const std::string& scope) {
  std::vector<std::string> removed;
  auto layout = Detect();
  if (!layout) return removed;
  for (const std::string& root : layout->roots) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(fs::path(root) / kGroup / scope, ec)) {
      if (!entry.is_directory()) continue;
      KillAll(entry.path());
      RemoveDir(entry.path());
      removed.push_back(entry.path().string());
    }
  }
  return removed;
}

void Cgroup::RemoveScope(const std::string& scope) {
  auto layout = Detect();
  if (!layout) return;
  for (const std::string& root : layout->roots) ::rmdir((fs::path(root) / kGroup / scope).c_str());
}

Cgroup::~Cgroup() {
  Kill();
  Remove();
}

common::Result<void> Cgroup::AddProcess(pid_t pid) {
  for (const std::string& dir : dirs_) {
    if (auto r = WriteFile(fs::path(dir) / "cgroup.procs", std::to_string(pid)); !r) return r;
  }
  return {};
}

common::Result<void> Cgroup::Update(const ResourceLimits& limits) {
  return ApplyLimits(v2_, has_cpu_, dirs_, limits);
}

void Cgroup::Kill() {
  for (const std::string& dir : dirs_) KillAll(dir);
}

void Cgroup::Remove() {
  for (const std::string& dir : dirs_) RemoveDir(dir);
}

bool Cgroup::OomKilled() const {
  if (dirs_.empty()) return false;
  const std::string text =
      ReadFile(fs::path(dirs_[0]) / (v2_ ? "memory.events" : "memory.oom_control"));
  const auto at = text.find("oom_kill ");
  return at != std::string::npos && std::atol(text.c_str() + at + 9) > 0;
}

}  // namespace sandbox
