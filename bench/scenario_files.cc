// Files: moving a large file into and out of a session's workspace, next to `cp` of the same
// file between the same filesystems (the floor), with the gateway's RSS sampled every 20 ms;
// and what the per-execution change list costs: a trivial execution with 10,000 files in the
// workspace next to one with an empty workspace.
//
// The client is curl (`-T` streams an upload from the file, `-o` writes the download to a
// file), so the gateway is measured against a client that streams too. The source file is on
// the disk of the bench's temporary directory (and in its page cache, as cp sees it); the
// workspace is the gateway's tmpfs. Upload floor: cp from that disk file into a tmpfs
// directory of the gateway's runtime filesystem; download floor: cp from there back to disk.
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "gateway.h"
#include "proc_stats.h"
#include "scenarios.h"
#include "stats.h"

namespace bench {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Runs `command` through the shell; its wall time in seconds, or NAN when it failed.
double Timed(const std::string& command) {
  const auto start = Clock::now();
  const std::string out = Shell(command + " && echo __ok");
  if (out.find("__ok") == std::string::npos) return NAN;
  return Seconds(start);
}

struct Transfer {
  double seconds = NAN;
  double peak_rss_mb = 0;
};

Transfer Sampled(pid_t gateway, const std::string& command) {
  Sampler sampler(gateway, std::chrono::milliseconds(20));
  Transfer t;
  t.seconds = Timed(command);
  for (const auto& s : sampler.Stop()) t.peak_rss_mb = std::max(t.peak_rss_mb, s.rss_mb);
  return t;
}

double P50ExecuteMs(SyncClient& client, const std::string& user, int rounds) {
  std::vector<double> ms;
  for (int i = 0; i < rounds; ++i) {
    const Reply reply = client.Post("/execute", ExecuteBody(user, "1"));
    if (reply.status == 200) ms.push_back(reply.ms);
  }
  return Summary(ms).p50;
}

}  // namespace

Section RunFiles(const RunConfig& config) {
  Section section;
  section.id = "files";
  section.title = "Files: upload and download, and the change list";
  const std::string backend = config.backends.front();
  const std::size_t mib = config.quick ? 256 : 1024;
  const int rounds = config.Count(100, 30);
  section.setup =
      "One " + std::to_string(mib) + " MiB file of random bytes (" + backend +
      " backend): `curl -T` into the workspace (`PUT /files`), `curl -o` back out "
      "(`GET /files`), each next to `cp` of the same file between the same filesystems (disk "
      "to the gateway's tmpfs runtime filesystem, and back); gateway RSS sampled every 20 ms. "
      "Then `1` executed " +
      std::to_string(rounds) +
      " times (p50) with an empty workspace and with 10,000 files in it (created by the "
      "kernel in 100 directories): the difference is the per-execution snapshot behind "
      "`files`.";
  const std::size_t workspace_mb = mib + 256;
  Gateway gateway(backend, {"--min-idle", "1", "--max-workers", "2", "--workspace-mb",
                            std::to_string(workspace_mb), "--max-file-mb", std::to_string(mib + 16),
                            "--workspace-inodes", "200000"});
  if (!gateway.ok() || !gateway.WaitIdle(1, 120)) {
    section.notes.push_back("the gateway did not start: " + gateway.Log().substr(0, 500));
    return section;
  }
  char tmpl[] = "/var/tmp/ci-bench-files-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) return section;
  const fs::path dir = tmpl;
  const fs::path source = dir / "source.bin", back = dir / "back.bin";
  Shell("head -c " + std::to_string(mib << 20) + " /dev/urandom > " + source.string());
  Shell("cat " + source.string() + " > /dev/null");  // in the page cache, as for cp
  const Target target = gateway.target();
  const std::string base = "http://127.0.0.1:" + std::to_string(target.port);
  const std::string auth = " -H 'X-Auth-Token: " + target.token + "' ";
  SyncClient client(target);
  client.Post("/execute", ExecuteBody("files", "1"));  // the session and its workspace
  const double idle_rss = RssMb(gateway.pid());

  Progress("files: upload %zu MiB", mib);
  const Transfer up =
      Sampled(gateway.pid(), "curl -sf -T " + source.string() + auth + "'" + base +
                                 "/files?user_uuid=files&path=big.bin' > /dev/null");
  Progress("files: download %zu MiB", mib);
  const Transfer down = Sampled(gateway.pid(), "curl -sf" + auth + "-o " + back.string() + " '" +
                                                   base + "/files?user_uuid=files&path=big.bin'");
  const bool same =
      Shell("cmp -s " + source.string() + " " + back.string() + " && echo same") == "same\n";
  // The floors, between the same filesystems: disk -> tmpfs (the runtime dir's) and back.
  const fs::path tmpfs_dir =
      fs::path("/dev/shm") / ("ci-bench-files-" + std::to_string(::getpid()));
  fs::create_directories(tmpfs_dir);
  const double cp_in = Timed("cp " + source.string() + " " + (tmpfs_dir / "copy.bin").string());
  fs::remove(back);
  const double cp_out = Timed("cp " + (tmpfs_dir / "copy.bin").string() + " " + back.string());
  fs::remove_all(tmpfs_dir);
  fs::remove_all(dir);

  const double mb = static_cast<double>(mib) * 1.048576;  // MiB -> MB (10^6)
  section.rows.push_back({"upload (PUT /files, curl -T)", mb / up.seconds, "MB/s",
                          "cp disk -> tmpfs", mb / cp_in, "", std::nullopt,
                          "the body is read in 256 KiB chunks, hashed (sha256) and written"});
  section.rows.push_back({"download (GET /files, curl -o)", mb / down.seconds, "MB/s",
                          "cp tmpfs -> disk", mb / cp_out, "", std::nullopt,
                          same ? "sendfile from the workspace; the bytes came back intact"
                               : "THE BYTES CAME BACK DIFFERENT"});
  section.rows.push_back({"gateway RSS growth while moving it, peak",
                          std::max(up.peak_rss_mb, down.peak_rss_mb) - idle_rss, "MB", "", NAN,
                          "< 32 MiB",
                          std::max(up.peak_rss_mb, down.peak_rss_mb) - idle_rss < 32 * 1.048576,
                          "one 256 KiB chunk per upload; downloads hold no buffer"});

  Progress("files: change list, empty workspace");
  client.Post("/execute", ExecuteBody("files", "import os; os.remove('big.bin')"));
  const double empty_ms = P50ExecuteMs(client, "files", rounds);
  client.Post(
      "/execute",
      ExecuteBody("files",
                  "import os\nfor d in range(100):\n    os.makedirs(f'tree/{d}', exist_ok=True)\n"
                  "    for f in range(100):\n        open(f'tree/{d}/{f}.txt', 'w').write('x')",
                  120));
  Progress("files: change list, 10,000 files");
  const double full_ms = P50ExecuteMs(client, "files", rounds);
  section.rows.push_back({"`1` with 10,000 files in the workspace, p50", full_ms, "ms",
                          "empty workspace", empty_ms, "", std::nullopt,
                          "one snapshot walk per execution (after it; the baseline is reused)"});
  section.data = {{"mib", mib},
                  {"upload_s", up.seconds},
                  {"download_s", down.seconds},
                  {"cp_in_s", cp_in},
                  {"cp_out_s", cp_out},
                  {"idle_rss_mb", idle_rss},
                  {"upload_peak_rss_mb", up.peak_rss_mb},
                  {"download_peak_rss_mb", down.peak_rss_mb},
                  {"execute_empty_p50_ms", empty_ms},
                  {"execute_10k_files_p50_ms", full_ms}};
  return section;
}

}  // namespace bench
