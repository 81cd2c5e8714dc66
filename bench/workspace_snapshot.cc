// The cost of the per-execution change list (issue 11, item 4): TakeSnapshot before and
// after, then Diff, over a workspace of --files files spread over --dirs directories (a
// fresh temporary tree; page cache warm, as it is between two executions). Between the two
// snapshots --touch files are rewritten and as many created, so the diff has work to do.
// Prints the median and the worst of --runs rounds. Not a ctest; run by hand:
//   build/default/bench/workspace_snapshot [--files=10000] [--dirs=100] [--runs=20]
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "workspace/snapshot.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

long Flag(int argc, char** argv, std::string_view name, long fallback) {
  const std::string prefix = "--" + std::string(name) + "=";
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]).starts_with(prefix)) return std::atol(argv[i] + prefix.size());
  }
  return fallback;
}

// CPU time of this thread: on a shared, loaded machine wall time mostly measures the others.
double CpuMs() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) / 1e6;
}

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

void Touch(const fs::path& path, std::string_view content) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
}

}  // namespace

int main(int argc, char** argv) {
  const long files = Flag(argc, argv, "files", 10'000);
  const long dirs = std::max(1L, Flag(argc, argv, "dirs", 100));
  const long runs = std::max(1L, Flag(argc, argv, "runs", 20));
  const long touch = Flag(argc, argv, "touch", 10);

  char tmpl[] = "/tmp/ci-workspace-bench-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return 1;
  const fs::path root = tmpl;
  for (long i = 0; i < files; ++i) {
    const fs::path dir = root / ("dir" + std::to_string(i % dirs));
    if (i < dirs) fs::create_directories(dir);
    Touch(dir / ("file-" + std::to_string(i) + ".csv"), "a,b\n1,2\n");
  }
  const int root_fd = open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);

  std::vector<double> snapshot_ms, diff_ms, total_ms, cpu_ms;
  std::size_t entries = 0, changes = 0;
  for (long run = 0; run < runs; ++run) {
    const double c0 = CpuMs();
    const auto t0 = Clock::now();
    auto before = workspace::TakeSnapshot(root_fd);
    const auto t1 = Clock::now();
    const double c1 = CpuMs();
    for (long i = 0; i < touch; ++i) {  // the "execution": not timed
      Touch(root / ("dir" + std::to_string(i % dirs)) / ("file-" + std::to_string(i) + ".csv"),
            "rewritten " + std::to_string(run));
      Touch(root / ("new-" + std::to_string(run) + "-" + std::to_string(i)), "x");
    }
    const double c2 = CpuMs();
    const auto t2 = Clock::now();
    auto after = workspace::TakeSnapshot(root_fd);
    const auto t3 = Clock::now();
    if (!before || !after) {
      std::fprintf(stderr, "snapshot failed\n");
      return 1;
    }
    const workspace::ChangeList diff = workspace::Diff(*before, *after, 1000);
    const auto t4 = Clock::now();
    cpu_ms.push_back(CpuMs() - c2 + (c1 - c0));
    entries = after->entries.size();
    changes = diff.total;
    snapshot_ms.push_back(Ms(t1 - t0));
    diff_ms.push_back(Ms(t4 - t3));
    total_ms.push_back(Ms(t1 - t0) + Ms(t4 - t2));  // what an execution pays: 2 snapshots + diff
  }
  const auto report = [](const char* what, std::vector<double> v) {
    std::sort(v.begin(), v.end());
    std::printf("%-34s median %8.2f ms   max %8.2f ms\n", what, v[v.size() / 2], v.back());
  };
  std::printf(
      "workspace: %ld files in %ld directories (%zu entries at the end), %ld rounds, "
      "%zu changes per diff\n",
      files, dirs, entries, runs, changes);
  report("one snapshot", snapshot_ms);
  report("diff", diff_ms);
  report("per execution (2 snapshots + diff)", total_ms);
  report("  the same in CPU time", cpu_ms);

  close(root_fd);
  std::error_code ignored;
  fs::remove_all(root, ignored);
  return 0;
}
