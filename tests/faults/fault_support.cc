#include "faults/fault_support.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "sandbox/namespaces_launcher.h"
#include "sandbox/uid_slots.h"

namespace faults {
namespace {

namespace fs = std::filesystem;

constexpr const char* kEngineSocket = "/var/run/docker.sock";
// Where worker groups live: the v1 hierarchies, and v2 (pure or hybrid).
const char* const kCgroupRoots[] = {"/sys/fs/cgroup/memory", "/sys/fs/cgroup/pids",
                                    "/sys/fs/cgroup/cpu", "/sys/fs/cgroup",
                                    "/sys/fs/cgroup/unified"};

bool IsNumber(const std::string& s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string::npos;
}

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

struct ProcInfo {
  HostProcess process;
  bool zombie = false;
};

std::optional<ProcInfo> ReadProcess(const fs::path& dir) {
  const std::string status = ReadText(dir / "status");
  if (status.empty()) return std::nullopt;
  ProcInfo info;
  info.process.pid = std::stoi(dir.filename().string());
  info.process.ppid = std::atoi(StatusField(status, "PPid").c_str());
  info.process.uid =
      static_cast<unsigned>(std::strtoul(StatusField(status, "Uid").c_str(), nullptr, 10));
  info.process.comm = StatusField(status, "Name");
  info.zombie = StatusField(status, "State").rfind('Z', 0) == 0;
  std::istringstream cgroups(ReadText(dir / "cgroup"));
  std::string unified;
  for (std::string line; std::getline(cgroups, line);) {
    if (const auto at = line.find(":memory:"); at != std::string::npos)
      info.process.cgroup = line.substr(at + 8);
    if (line.rfind("0::", 0) == 0) unified = line.substr(3);
  }
  if (info.process.cgroup.empty()) info.process.cgroup = unified;
  return info;
}

std::vector<ProcInfo> AllProcesses() {
  std::vector<ProcInfo> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    if (!IsNumber(entry.path().filename().string())) continue;
    if (auto info = ReadProcess(entry.path())) out.push_back(std::move(*info));
  }
  return out;
}

std::string PercentEncode(const std::string& s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string Describe(const HostProcess& p) {
  return "pid " + std::to_string(p.pid) + " (" + p.comm + ", uid " + std::to_string(p.uid) +
         ", cgroup " + p.cgroup + ")";
}

}  // namespace

std::string ReadText(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : "; ") + item;
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

int CountThreads(pid_t pid) {
  return std::atoi(
      StatusField(ReadText("/proc/" + std::to_string(pid) + "/status"), "Threads").c_str());
}

long RssKb(pid_t pid) {
  return std::atol(
      StatusField(ReadText("/proc/" + std::to_string(pid) + "/status"), "VmRSS").c_str());
}

bool ProcessGone(int pid) {
  const std::string status = ReadText("/proc/" + std::to_string(pid) + "/status");
  return status.empty() || StatusField(status, "State").rfind('Z', 0) == 0;
}

int ParentOf(int pid) {
  return std::atoi(
      StatusField(ReadText("/proc/" + std::to_string(pid) + "/status"), "PPid").c_str());
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
  std::vector<ProcInfo> all = AllProcesses();
  std::vector<HostProcess> out;
  if (instance.backend == "none") {
    std::set<int> tree = {instance.gateway};
    // Parents are listed before children most of the time; repeat until nothing is added.
    for (bool added = true; added;) {
      added = false;
      for (const ProcInfo& p : all) {
        if (!p.zombie && tree.contains(p.process.ppid) && tree.insert(p.process.pid).second) {
          out.push_back(p.process);
          added = true;
        }
      }
    }
    return out;
  }
  const unsigned end = instance.uid_base + sandbox::UidSlots::kPerInstance;
  for (const ProcInfo& p : all) {
    if (!p.zombie && p.process.uid >= instance.uid_base && p.process.uid < end)
      out.push_back(p.process);
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

std::optional<std::string> EngineGet(const std::string& target) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", kEngineSocket);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return std::nullopt;
  }
  SendAll(fd, "GET " + target + " HTTP/1.0\r\nHost: docker\r\n\r\n");
  std::string reply;
  char buf[65536];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;)
    reply.append(buf, static_cast<std::size_t>(n));
  ::close(fd);
  const auto head_end = reply.find("\r\n\r\n");
  if (reply.find(" 200 ") > 12 || head_end == std::string::npos) return std::nullopt;
  return reply.substr(head_end + 4);
}

std::vector<Container> InstanceContainers(const Instance& instance) {
  const nlohmann::json filters = {
      {"label",
       {"managed-by=code-interpreter", "org.code-interpreter.instance=" + instance.scope}}};
  const auto body = EngineGet("/containers/json?all=true&filters=" + PercentEncode(filters.dump()));
  std::vector<Container> out;
  if (!body) return out;
  const auto list = nlohmann::json::parse(*body, nullptr, false);
  if (!list.is_array()) return out;
  for (const auto& c : list) {
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
      const bool in_worker = p.cgroup.rfind(prefix, 0) == 0 &&
                             (fs::exists(fs::path("/sys/fs/cgroup/memory") / p.cgroup.substr(1)) ||
                              fs::exists(fs::path("/sys/fs/cgroup") / p.cgroup.substr(1)) ||
                              fs::exists(fs::path("/sys/fs/cgroup/unified") / p.cgroup.substr(1)));
      if (!in_worker) stray.push_back(Describe(p));
    }
  } else if (instance.backend == "docker") {
    std::vector<std::string> running;
    for (const Container& c : InstanceContainers(instance)) {
      if (c.running) running.push_back(c.id);
    }
    for (const HostProcess& p : SandboxProcesses(instance)) {
      bool in_container = false;
      for (const std::string& id : running) in_container |= p.cgroup.find(id) != std::string::npos;
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
