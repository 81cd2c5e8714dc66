// run_all: the benchmark suite in one command. Starts its own gateways (the real binary, on
// loopback), runs the selected scenarios one after another, and writes the results as
// markdown and JSON to bench/results/<all|scenarios>[-quick]-<date>.{md,json}.
//
//   sudo build/default/bench/run_all [--quick] [--scenarios=a,b] [--backends=a,b]
//                                    [--scale=F] [--capacity-hold=S] [--out=DIR]
//
// Scenarios: latency, sandbox, throughput, capacity, acquisition, interrupt, memory, streaming,
// files.
// Without --backends: every backend this host has (namespaces as root, none, docker with the
// worker image), or with --quick only the default one.
#include <fcntl.h>
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <thread>

#include "gateway.h"
#include "proc_stats.h"
#include "sandbox/namespaces_launcher.h"
#include "scenarios.h"
#include "stats.h"

#ifndef CI_SOURCE_DIR
#error "CI_SOURCE_DIR must name the source tree"
#endif

namespace {

using bench::RunConfig;
using bench::Section;

// In run order: throughput and capacity are adjacent because they share one warm pool.
const std::vector<std::pair<std::string, std::function<Section(const RunConfig&)>>> kScenarios = {
    {"latency", bench::RunLatency},         {"sandbox", bench::RunSandbox},
    {"throughput", bench::RunThroughput},   {"capacity", bench::RunCapacity},
    {"acquisition", bench::RunAcquisition}, {"interrupt", bench::RunInterrupt},
    {"memory", bench::RunMemory},           {"streaming", bench::RunStreaming},
    {"events", bench::RunEvents},           {"files", bench::RunFiles},
};

std::vector<std::string> Split(const std::string& list) {
  std::vector<std::string> out;
  std::istringstream in(list);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

std::vector<std::string> AvailableBackends() {
  std::vector<std::string> out;
  if (::geteuid() == 0 && sandbox::NamespacesLauncher::CheckHost()) out.push_back("namespaces");
  out.push_back("none");
  if (bench::Shell("docker image inspect code-interpreter-worker:latest >/dev/null 2>&1 && "
                   "echo ok") == "ok\n")
    out.push_back("docker");
  return out;
}

// SIGINT/SIGTERM: stop the gateways (each kills its kernels) before exiting, so an
// interrupted run leaves no kernels behind. The handler only writes to a pipe; a thread does
// the work. (Blocking the signals instead would be inherited by the gateways we start.)
int signal_pipe[2] = {-1, -1};

void OnSignal(int signal) {
  const char byte = static_cast<char>(signal);
  (void)!::write(signal_pipe[1], &byte, 1);
}

void StopGatewaysOnSignal() {
  if (::pipe2(signal_pipe, O_CLOEXEC) != 0) return;
  std::thread([] {
    char signal = 0;
    if (::read(signal_pipe[0], &signal, 1) != 1) return;
    std::fprintf(stderr, "run_all: signal %d, stopping the gateways\n", signal);
    bench::StopAllGateways();
    std::_Exit(128 + signal);
  }).detach();
  struct sigaction action {};
  action.sa_handler = OnSignal;
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
}

// 1,000 connections from here plus the gateway's own (it inherits the limit).
void RaiseFileLimit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  limit.rlim_cur = limit.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &limit);
}

std::string Today() {
  const std::time_t now = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", std::localtime(&now));
  return buf;
}

std::string Machine(int cores) {
  std::string model = bench::Shell("lscpu | sed -n 's/^Model name: *//p' | head -1");
  if (!model.empty() && model.back() == '\n') model.pop_back();
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  double kb = 0;
  meminfo >> key >> kb;
  utsname u{};
  ::uname(&u);
  return model + ", " + std::to_string(cores) + " cores, " + bench::Format(kb / 1024 / 1024) +
         " GiB RAM, Linux " + u.release;
}

// The source revision the binaries were built from ("-dirty": with uncommitted changes).
std::string Revision() {
  std::string rev = bench::Shell("git -C " CI_SOURCE_DIR " describe --always --dirty 2>/dev/null");
  while (!rev.empty() && rev.back() == '\n') rev.pop_back();
  return rev;
}

int Usage(const char* self) {
  std::fprintf(stderr,
               "usage: %s [--quick] [--scenarios=latency,sandbox,throughput,acquisition,interrupt,"
               "capacity,memory,streaming,files]\n"
               "          [--backends=namespaces,none,docker] [--scale=F] "
               "[--capacity-hold=SECONDS (0: wait for all)] [--out=DIR]\n",
               self);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  RunConfig config;
  config.cores = static_cast<int>(::sysconf(_SC_NPROCESSORS_ONLN));
  std::vector<std::string> selected;
  std::vector<std::string> backends;
  std::filesystem::path out_dir = std::filesystem::path(CI_SOURCE_DIR) / "bench" / "results";
  bool hold_given = false;
  std::string command = "run_all";
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    command += " " + arg;
    const auto value = [&](const char* name) -> const char* {
      const std::size_t n = std::strlen(name);
      return arg.compare(0, n, name) == 0 && arg.size() > n && arg[n] == '=' ? argv[i] + n + 1
                                                                             : nullptr;
    };
    if (arg == "--quick") {
      config.quick = true;
    } else if (const char* v = value("--scenarios")) {
      selected = Split(v);
    } else if (const char* v = value("--backends")) {
      backends = Split(v);
    } else if (const char* v = value("--scale")) {
      config.scale = std::atof(v);
    } else if (const char* v = value("--capacity-hold")) {
      config.capacity_hold_s = std::atof(v);
      hold_given = true;
    } else if (const char* v = value("--out")) {
      out_dir = v;
    } else {
      return Usage(argv[0]);
    }
  }
  if (config.quick && !hold_given) config.capacity_hold_s = 7;
  const std::vector<std::string> available = AvailableBackends();
  // Quick runs measure the default backend only, unless asked for more.
  if (backends.empty()) backends = config.quick ? std::vector{available.front()} : available;
  for (const auto& b : backends) {
    if (std::find(available.begin(), available.end(), b) == available.end()) {
      std::fprintf(stderr, "backend %s is not available here (available:", b.c_str());
      for (const auto& a : available) std::fprintf(stderr, " %s", a.c_str());
      std::fprintf(stderr, ")\n");
      return 2;
    }
  }
  config.backends = backends;
  if (selected.empty())
    for (const auto& [name, run] : kScenarios) selected.push_back(name);
  for (const auto& name : selected) {
    if (std::none_of(kScenarios.begin(), kScenarios.end(),
                     [&](const auto& s) { return s.first == name; }))
      return Usage(argv[0]);
  }
  RaiseFileLimit();
  StopGatewaysOnSignal();
  // Launchers used in-process log through spdlog: keep stdout for the result paths.
  spdlog::set_default_logger(spdlog::stderr_color_mt("run_all"));

  std::string stem = selected.size() == kScenarios.size() ? "all" : "";
  for (const auto& name : selected)
    if (stem != "all") stem += (stem.empty() ? "" : "+") + name;
  stem += (config.quick ? "-quick-" : "-") + Today();
  std::filesystem::create_directories(out_dir);
  const auto md_path = out_dir / (stem + ".md");
  const auto json_path = out_dir / (stem + ".json");

  nlohmann::json context = {
      {"date", Today()},        {"command", command},    {"machine", Machine(config.cores)},
      {"revision", Revision()}, {"cores", config.cores}, {"backends", backends},
      {"quick", config.quick},  {"scale", config.scale}, {"loadavg_before", bench::LoadAverage()}};
  const auto start = bench::Clock::now();
  bench::Report report;
  // Written after every scenario, so an interrupted run keeps what it measured.
  const auto write = [&] {
    context["loadavg_after"] = bench::LoadAverage();
    context["duration_s"] = std::chrono::duration<double>(bench::Clock::now() - start).count();
    std::ofstream(md_path) << report.Markdown(context);
    std::ofstream(json_path) << report.Json(context).dump(2) << "\n";
  };
  bench::Progress(
      "run_all: %s; backends:%s; load average %s", command.c_str(),
      [&] {
        std::string s;
        for (const auto& b : backends) s += " " + b;
        return s;
      }()
          .c_str(),
      bench::LoadAverage().c_str());
  for (const auto& [name, run] : kScenarios) {
    if (std::find(selected.begin(), selected.end(), name) == selected.end()) continue;
    report.Add(run(config));
    if (name != "throughput") bench::ReleaseSharedPool();  // its last user is done
    write();
  }
  bench::Progress("run_all: done");
  std::printf("%s\n%s\n", md_path.c_str(), json_path.c_str());
  return 0;
}
