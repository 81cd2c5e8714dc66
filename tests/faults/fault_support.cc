#include "faults/fault_support.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "sandbox/namespaces_launcher.h"
#include "sandbox/uid_slots.h"
#include "support/engine.h"

namespace faults {
namespace {

namespace fs = std::filesystem;
using testing_support::HostProcess;

// Where worker groups live: the v1 hierarchies, and v2 (pure or hybrid).
const char* const kCgroupRoots[] = {"/sys/fs/cgroup/memory", "/sys/fs/cgroup/pids",
                                    "/sys/fs/cgroup/cpu",    "/sys/fs/cgroup/cpuacct",
                                    "/sys/fs/cgroup",        "/sys/fs/cgroup/unified"};

std::string Describe(const HostProcess& p) {
  return "pid " + std::to_string(p.pid) + " (" + p.comm + ", uid " + std::to_string(p.uid) +
         ", cgroup " + p.Cgroup() + ")";
}

}  // namespace

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : "; ") + item;
  return out;
}

Instance InstanceOf(const testing_support::ServerProcess& server) {
  Instance instance;
  instance.backend = testing_support::TestSandbox();
  instance.runtime_dir = fs::absolute(server.runtime_dir()).string();
  instance.scope = sandbox::NamespacesLauncher::ScopeFor(instance.runtime_dir);
  instance.uid_base = sandbox::UidSlots::BaseFor(instance.scope);
  instance.gateway = server.pid();
  return instance;
}

std::vector<HostProcess> SandboxProcesses(const Instance& instance) {
  const std::vector<HostProcess> all = testing_support::HostProcesses();
  std::vector<HostProcess> out;
  if (instance.backend == "none") {
    std::set<int> tree = {instance.gateway};
    // Parents are listed before children most of the time; repeat until nothing is added.
    for (bool added = true; added;) {
      added = false;
      for (const HostProcess& p : all) {
        if (!p.zombie && tree.contains(p.ppid) && tree.insert(p.pid).second) {
          out.push_back(p);
          added = true;
        }
      }
    }
    return out;
  }
  const unsigned end = instance.uid_base + sandbox::UidSlots::kPerInstance;
  for (const HostProcess& p : all) {
    if (!p.zombie && p.uid >= instance.uid_base && p.uid < end) out.push_back(p);
  }
  return out;
}

std::vector<int> KernelPids(const Instance& instance) {
  std::vector<int> pids;
  for (const HostProcess& p : SandboxProcesses(instance)) {
    if (p.comm.rfind("python", 0) == 0) pids.push_back(p.pid);
  }
  return pids;
}

std::vector<std::string> WorkerCgroups(const Instance& instance) {
  std::vector<std::string> out;
  for (const char* root : kCgroupRoots) {
    std::error_code ec;
    for (const auto& entry :
         fs::directory_iterator(fs::path(root) / "code-interpreter" / instance.scope, ec)) {
      if (entry.is_directory()) out.push_back(entry.path().string());
    }
  }
  return out;
}

std::vector<std::string> RuntimeWorkerEntries(const Instance& instance) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(instance.runtime_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("w-", 0) == 0) out.push_back(name);
  }
  return out;
}

std::vector<Container> InstanceContainers(const Instance& instance) {
  std::vector<Container> out;
  for (const auto& c : testing_support::ContainersOfInstance(instance.scope)) {
    Container container;
    container.id = c.value("Id", "");
    if (c.contains("Names") && c["Names"].is_array() && !c["Names"].empty())
      container.name = c["Names"][0].get<std::string>();
    container.running = c.value("State", "") == "running";
    out.push_back(container);
  }
  return out;
}

std::vector<std::string> StrayProcesses(const Instance& instance) {
  std::vector<std::string> stray;
  if (instance.backend == "namespaces") {
    const std::string prefix = "/code-interpreter/" + instance.scope + "/w-";
    for (const HostProcess& p : SandboxProcesses(instance)) {
      const std::string& cgroup = p.Cgroup();
      const bool in_worker = cgroup.rfind(prefix, 0) == 0 &&
                             (fs::exists(fs::path("/sys/fs/cgroup/memory") / cgroup.substr(1)) ||
                              fs::exists(fs::path("/sys/fs/cgroup") / cgroup.substr(1)) ||
                              fs::exists(fs::path("/sys/fs/cgroup/unified") / cgroup.substr(1)));
      if (!in_worker) stray.push_back(Describe(p));
    }
  } else if (instance.backend == "docker") {
    std::vector<std::string> running;
    for (const Container& c : InstanceContainers(instance)) {
      if (c.running) running.push_back(c.id);
    }
    for (const HostProcess& p : SandboxProcesses(instance)) {
      bool in_container = false;
      for (const std::string& id : running)
        in_container |= p.Cgroup().find(id) != std::string::npos;
      if (!in_container) stray.push_back(Describe(p));
    }
  }
  return stray;
}

int SandboxCount(const Instance& instance) {
  if (instance.backend == "docker") return static_cast<int>(InstanceContainers(instance).size());
  if (instance.backend != "namespaces") return 0;
  // One hierarchy is enough: the memory one on v1, the unified one otherwise.
  std::map<std::string, int> per_root;
  for (const std::string& dir : WorkerCgroups(instance))
    ++per_root[fs::path(dir).parent_path().parent_path().parent_path().string()];
  if (per_root.contains("/sys/fs/cgroup/memory")) return per_root["/sys/fs/cgroup/memory"];
  int most = 0;
  for (const auto& [root, n] : per_root) most = std::max(most, n);
  return most;
}

int ConnectLoopback(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

bool SendAll(int fd, const std::string& bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

void ResetAndClose(int fd) {
  const linger reset{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
  ::close(fd);
}

std::string PostRequest(const std::string& path, const std::string& token, const std::string& body,
                        bool keep_alive) {
  return "POST " + path +
         " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: " + (keep_alive ? "keep-alive" : "close") +
         "\r\nX-Auth-Token: " + token +
         "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

}  // namespace faults
