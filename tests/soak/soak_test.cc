// Soak: a mixed workload for a bounded time (CI_SOAK_SECONDS, default 600; CI runs 60) while
// the gateway's RSS, fds and threads and the instance's sandbox processes, sandboxes and
// runtime entries are sampled. Fails on any unexpected answer, on a resource that keeps growing
// (the median of the last third of the samples against the median of the second third), and
// when the host does not return to its idle baseline once every user is released.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "faults/fault_support.h"
#include "support/proc.h"
#include "support/server_process.h"

namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using testing_support::HttpClient;
using testing_support::HttpReply;
using testing_support::ServerProcess;
using testing_support::WaitFor;

constexpr int kVirtualUsers = 4;
constexpr int kMinIdle = 2;
constexpr int kMaxWorkers = 10;

double SoakSeconds() {
  const char* env = std::getenv("CI_SOAK_SECONDS");
  const double seconds = env != nullptr ? std::atof(env) : 0;
  return seconds > 0 ? seconds : 600;
}

struct Sample {
  double t = 0;
  long rss_kb = 0;
  int fds = 0;
  int threads = 0;
  int procs = 0;      // processes in the instance's sandboxes
  int sandboxes = 0;  // worker cgroups (namespaces) or containers (docker)
  int entries = 0;    // w-* entries of the runtime dir
  int workers = 0;    // total_workers of /status
  long requests = 0;  // answered so far
};

Sample Take(const faults::Instance& instance, const HttpClient& c, double t, long requests) {
  Sample s;
  s.t = t;
  s.rss_kb = testing_support::RssKb(instance.gateway);
  s.fds = testing_support::CountFds(instance.gateway);
  s.threads = testing_support::CountThreads(instance.gateway);
  s.procs = static_cast<int>(faults::SandboxProcesses(instance).size());
  s.sandboxes = faults::SandboxCount(instance);
  s.entries = static_cast<int>(faults::RuntimeWorkerEntries(instance).size());
  s.workers = c.Get("/status").Json().value("total_workers", -1);
  s.requests = requests;
  return s;
}

void Print(const std::vector<Sample>& samples) {
  std::printf("%8s %10s %6s %8s %6s %10s %8s %8s %9s\n", "t[s]", "rss[KiB]", "fds", "threads",
              "procs", "sandboxes", "entries", "workers", "requests");
  for (const Sample& s : samples) {
    std::printf("%8.1f %10ld %6d %8d %6d %10d %8d %8d %9ld\n", s.t, s.rss_kb, s.fds, s.threads,
                s.procs, s.sandboxes, s.entries, s.workers, s.requests);
  }
  std::fflush(stdout);
}

template <typename F>
double Median(const std::vector<Sample>& samples, std::size_t from, std::size_t to, F field) {
  std::vector<double> values;
  for (std::size_t i = from; i < to; ++i) values.push_back(static_cast<double>(field(samples[i])));
  std::sort(values.begin(), values.end());
  return values.empty() ? 0 : values[values.size() / 2];
}

// One client running a random mix of requests against its current user.
class VirtualUser {
 public:
  VirtualUser(const HttpClient& c, int index) : c_(c), index_(index), rng_(1000 + index) {
    NewUser();
  }

  void Step() {
    const int dice = static_cast<int>(rng_() % 100);
    if (dice < 40) return Count();
    if (dice < 55) return Raise();
    if (dice < 65) return Timeout();
    if (dice < 75) return LargeOutput();
    if (dice < 83) return Image();
    if (dice < 93) return Release();
    if (dice < 99) return Count();
    NewUser();  // the old session is abandoned (reaped after --idle-timeout, or released last)
  }

  // Every user this client ever had, to release at the end.
  const std::vector<std::string>& users() const { return users_; }
  const std::vector<std::string>& failures() const { return failures_; }
  long requests() const { return requests_; }
  std::map<std::string, int> counts() const { return counts_; }

 private:
  void NewUser() {
    users_.push_back("soak-" + std::to_string(index_) + "-" + std::to_string(users_.size()));
    count_ = 0;
  }
  const std::string& user() const { return users_.back(); }

  // Sends one request; true when it got `expected`. A 503 because the pool is full is allowed.
  bool Run(const std::string& kind, const std::string& code, double timeout, int expected,
           json* out) {
    const HttpReply r = c_.Execute(user(), code, timeout);
    ++requests_;
    ++counts_[kind];
    *out = r.Json();
    if (r.status == 503 &&
        out->value("detail", "").find("max_workers reached") != std::string::npos) {
      ++counts_["503 (pool full)"];
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      return false;
    }
    if (r.status != expected) {
      Fail(kind + ": status " + std::to_string(r.status) + " " + r.body.substr(0, 400));
      return false;
    }
    // No kernel is ever lost in this workload (every timeout is interruptible).
    if ((*out)["state_preserved"] != true) {
      Fail(kind + ": state lost: " + r.body.substr(0, 400));
      return false;
    }
    return true;
  }

  void Fail(const std::string& what) {
    if (failures_.size() < 20) failures_.push_back(user() + " " + what);
  }

  void Count() {
    json j;
    if (!Run("count", "c = globals().get('c', 0) + 1\nc", 0, 200, &j)) return;
    ++count_;
    if (j["result_text"] != std::to_string(count_))
      Fail("count: expected " + std::to_string(count_) + ", got " + j.dump().substr(0, 200));
  }

  void Raise() {
    json j;
    if (Run("raise", "raise ValueError('soak')", 0, 400, &j) && j["error"]["ename"] != "ValueError")
      Fail("raise: " + j.dump().substr(0, 300));
  }

  void Timeout() {
    json j;
    if (Run("timeout", "import time\ntime.sleep(10)", 0.5, 400, &j) && j["timed_out"] != true)
      Fail("timeout: " + j.dump().substr(0, 300));
  }

  void LargeOutput() {
    json j;
    if (Run("large output", "print('x' * 300000)", 0, 200, &j) &&
        j["stdout"].get<std::string>().size() != 300001) {
      Fail("large output: stdout of " + std::to_string(j["stdout"].get<std::string>().size()));
    }
  }

  void Image() {
    json j;
    const std::string code =
        "import matplotlib.pyplot as plt\n"
        "plt.figure(figsize=(4, 3))\nplt.plot([1, 3, 2])\nplt.show()";
    if (Run("image", code, 60, 200, &j) &&
        (!j["result_base64"].is_string() ||
         j["result_base64"].get<std::string>().rfind("iVBORw0KGgo", 0) != 0)) {
      Fail("image: no PNG in " + j.dump().substr(0, 300));
    }
  }

  void Release() {
    const HttpReply r = c_.Release(user());
    ++requests_;
    ++counts_["release"];
    if (r.status != 200) Fail("release: status " + std::to_string(r.status) + " " + r.body);
    NewUser();
  }

  const HttpClient& c_;
  int index_;
  std::mt19937 rng_;
  std::vector<std::string> users_;
  int count_ = 0;
  long requests_ = 0;
  std::map<std::string, int> counts_;
  std::vector<std::string> failures_;
};

TEST(SoakTest, MixedWorkloadLeavesNoGrowthAndReturnsToBaseline) {
  const double seconds = SoakSeconds();
  ServerProcess server({"--min-idle", std::to_string(kMinIdle), "--max-workers",
                        std::to_string(kMaxWorkers), "--idle-timeout", "15", "--interrupt-grace",
                        "3", "--exec-timeout", "30"});
  ASSERT_TRUE(server.ok()) << server.Log();
  const HttpClient c = server.Client();
  const faults::Instance instance = faults::InstanceOf(server);
  const auto settled = [&] {
    const json s = c.Get("/status").Json();
    return s["sessions"] == 0 && s["total_workers"] == kMinIdle &&
           s["idle_workers_in_pool"] == kMinIdle && s["starting_workers"] == 0;
  };
  ASSERT_TRUE(WaitFor(settled, 120)) << c.Get("/status").body;
  const auto start = Clock::now();
  const auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  const Sample baseline = Take(instance, c, 0, 0);
  // What one more worker costs, for the slack of the growth checks below.
  ASSERT_EQ(c.Execute("calibrate", "1").status, 200);
  ASSERT_TRUE(WaitFor(
      [&] {
        const json s = c.Get("/status").Json();
        return s["total_workers"] == kMinIdle + 1 && s["starting_workers"] == 0;
      },
      120));
  const Sample one_more = Take(instance, c, 0, 0);
  ASSERT_EQ(c.Release("calibrate").status, 200);
  ASSERT_TRUE(WaitFor(settled, 120)) << c.Get("/status").body;

  std::vector<std::unique_ptr<VirtualUser>> users;
  for (int i = 0; i < kVirtualUsers; ++i) users.push_back(std::make_unique<VirtualUser>(c, i));
  std::atomic<bool> stop{false};
  std::atomic<long> answered{0};
  std::vector<std::thread> threads;
  for (auto& vu : users) {
    threads.emplace_back([&, vu = vu.get()] {
      while (!stop) {
        vu->Step();
        ++answered;
      }
    });
  }
  // About 60 samples, at most one a second.
  const double interval = std::max(1.0, seconds / 60);
  std::vector<Sample> samples;
  while (elapsed() < seconds) {
    std::this_thread::sleep_for(std::chrono::duration<double>(interval));
    samples.push_back(Take(instance, c, elapsed(), answered));
  }
  stop = true;
  for (auto& t : threads) t.join();

  std::map<std::string, int> counts;
  std::vector<std::string> failures;
  for (const auto& vu : users) {
    for (const auto& [kind, n] : vu->counts()) counts[kind] += n;
    failures.insert(failures.end(), vu->failures().begin(), vu->failures().end());
    for (const std::string& user : vu->users()) {
      const HttpReply r = c.Release(user);
      if (r.status != 200) failures.push_back("final release of " + user + ": " + r.body);
    }
  }
  std::string why;
  const bool back = WaitFor(
      [&] {
        const Sample now = Take(instance, c, elapsed(), answered);
        why = "now: fds " + std::to_string(now.fds) + ", threads " + std::to_string(now.threads) +
              ", procs " + std::to_string(now.procs) + ", sandboxes " +
              std::to_string(now.sandboxes) + ", entries " + std::to_string(now.entries);
        return settled() && now.fds <= baseline.fds + 2 && now.threads == baseline.threads &&
               now.procs == baseline.procs && now.sandboxes == baseline.sandboxes &&
               now.entries == baseline.entries;
      },
      120);
  const Sample after = Take(instance, c, elapsed(), answered);

  std::printf("soak: %.0f s, %d virtual users, %ld requests\n", seconds, kVirtualUsers,
              answered.load());
  for (const auto& [kind, n] : counts) std::printf("  %-16s %d\n", kind.c_str(), n);
  std::printf("baseline, and with one more worker:\n");
  Print({baseline, one_more});
  Print(samples);
  std::printf("after release:\n");
  Print({after});

  EXPECT_EQ(failures, std::vector<std::string>{});
  EXPECT_GT(answered.load(), 10 * seconds / 60) << "the workload hardly ran";
  EXPECT_TRUE(back) << "not back at the baseline (fds " << baseline.fds << ", threads "
                    << baseline.threads << ", procs " << baseline.procs << ", sandboxes "
                    << baseline.sandboxes << ", entries " << baseline.entries << "); " << why;
  EXPECT_EQ(faults::StrayProcesses(instance), std::vector<std::string>{});
  EXPECT_EQ(::kill(server.pid(), 0), 0) << "the gateway died";

  // Growth: the last third against the second third. Workers come and go with the workload,
  // so what every worker brings (its fds in the gateway, its processes, its sandbox, its
  // runtime entries) is taken out first: what remains must not grow. The slack covers a worker
  // being created or destroyed while a sample is taken, and the clients' open connections.
  ASSERT_GE(samples.size(), 9u);
  const std::size_t third = samples.size() / 3;
  const std::size_t n = samples.size();
  const double worker_fds = std::max(1, one_more.fds - baseline.fds);
  const double worker_procs = std::max(1, one_more.procs - baseline.procs);
  const double worker_sandboxes = std::max(1, one_more.sandboxes - baseline.sandboxes);
  const double worker_entries = std::max(1, one_more.entries - baseline.entries);
  struct Measure {
    const char* name;
    std::function<double(const Sample&)> field;
    double factor;
    double slack;
  };
  const Measure measures[] = {
      {"rss[KiB]", [](const Sample& s) { return s.rss_kb; }, 1.15, 4096},
      {"threads", [](const Sample& s) { return s.threads; }, 1.0, 1},
      {"fds - workers' fds", [&](const Sample& s) { return s.fds - worker_fds * s.workers; }, 1.0,
       worker_fds + kVirtualUsers + 2},
      {"procs - workers' procs",
       [&](const Sample& s) { return s.procs - worker_procs * s.workers; }, 1.0, 2 * worker_procs},
      {"sandboxes - workers",
       [&](const Sample& s) { return s.sandboxes - worker_sandboxes * s.workers; }, 1.0,
       2 * worker_sandboxes},
      {"entries - workers' entries",
       [&](const Sample& s) { return s.entries - worker_entries * s.workers; }, 1.0,
       2 * worker_entries},
  };
  for (const Measure& m : measures) {
    const double second = Median(samples, third, 2 * third, m.field);
    const double last = Median(samples, 2 * third, n, m.field);
    std::printf("growth of %-27s median of 2nd third %8.0f, of last third %8.0f\n", m.name, second,
                last);
    EXPECT_LE(last, second * m.factor + m.slack) << m.name << " keeps growing";
  }
}

}  // namespace
