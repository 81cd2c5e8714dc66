#include "gateway.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "proc_stats.h"
#include "sandbox/namespaces_launcher.h"
#include "support/server_process.h"

namespace bench {
namespace {

// Running gateways and their directories, for StopAllGateways.
std::mutex live_mu;
std::map<pid_t, std::filesystem::path> live;

}  // namespace

Gateway::Gateway(const std::string& backend, std::vector<std::string> extra) : backend_(backend) {
  // ServerProcess picks the backend from the tests' variable.
  ::setenv("CI_TEST_SANDBOX", backend.c_str(), 1);
  server_ = std::make_unique<testing_support::ServerProcess>(std::move(extra));
  if (server_->pid() > 0) {
    std::lock_guard lock(live_mu);
    live[server_->pid()] = std::filesystem::path(server_->runtime_dir()).parent_path();
  }
  if (server_->ok()) client_ = std::make_unique<SyncClient>(target());
}

Gateway::~Gateway() {
  const pid_t pid = server_->pid();
  server_->Stop();
  // $BENCH_LOG_DIR keeps every gateway's log (gateway-<pid>-<backend>.log) for debugging.
  if (const char* dir = std::getenv("BENCH_LOG_DIR"); dir != nullptr && *dir != '\0') {
    std::ofstream(std::string(dir) + "/gateway-" + std::to_string(pid) + "-" + backend_ + ".log")
        << server_->Log();
  }
  server_.reset();
  std::lock_guard lock(live_mu);
  live.erase(pid);
}

void StopAllGateways() {
  std::lock_guard lock(live_mu);
  for (const auto& [pid, dir] : live) ::kill(pid, SIGTERM);
  for (const auto& [pid, dir] : live) {
    ::waitpid(pid, nullptr, 0);
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  live.clear();
}

bool Gateway::ok() const { return server_->ok(); }
std::string Gateway::Log() const { return server_->Log(); }
pid_t Gateway::pid() const { return server_->pid(); }
Target Gateway::target() const { return {server_->port(), server_->token()}; }

nlohmann::json Gateway::Status() {
  if (!client_) return nullptr;
  const Reply reply = client_->Get("/status");
  if (reply.status != 200) return nullptr;
  return nlohmann::json::parse(reply.body, nullptr, false);
}

bool Gateway::WaitIdle(std::size_t idle, double seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    const auto status = Status();
    if (status.is_object() && status.value("idle_workers_in_pool", 0u) >= idle &&
        status.value("starting_workers", 0u) == 0) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

bool Gateway::WaitSettled(double seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    const auto status = Status();
    if (status.is_object() && status.value("starting_workers", 0u) == 0 &&
        status.value("total_workers", 0u) ==
            status.value("idle_workers_in_pool", 0u) + status.value("busy_workers", 0u) &&
        !status.value("is_initializing", false)) {
      // Killing happens off the books: wait until the process count matches too.
      if (backend_ == "docker" ||
          WorkerTrees().size() == status.value("total_workers", std::size_t{0}))
        return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

std::vector<std::vector<pid_t>> Gateway::WorkerTrees(bool with_shim) const {
  std::vector<std::vector<pid_t>> trees;
  if (backend_ == "docker") {
    const std::string instance = sandbox::NamespacesLauncher::ScopeFor(server_->runtime_dir());
    for (const pid_t init : DockerInitPids(instance)) {
      trees.push_back(Tree(init));
      if (with_shim) trees.back().push_back(ParentOf(init));
    }
    return trees;
  }
  for (const pid_t child : Children(server_->pid())) trees.push_back(Tree(child));
  return trees;
}

std::vector<pid_t> Gateway::WorkerPids() const {
  std::vector<pid_t> pids;
  for (const auto& tree : WorkerTrees()) pids.insert(pids.end(), tree.begin(), tree.end());
  return pids;
}

}  // namespace bench
