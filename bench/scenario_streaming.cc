// Streaming of large output: a cell printing 50 MB (50 writes of 1 MB), through the gateway
// and through a direct ZeroMQ client, with the default --max-output-text (1 MiB: the kernel
// cuts the stream, the gateway returns 1 MiB and truncated) and with --max-output-text
// raised to 64 MiB (all 50 MB travel kernel -> gateway -> client). Gateway RSS is sampled
// every 20 ms.
#include <nlohmann/json.hpp>
#include <thread>

#include "gateway.h"
#include "hub_kernel.h"
#include "proc_stats.h"
#include "scenarios.h"
#include "stats.h"

namespace bench {
namespace {

constexpr double kPrintedMb = 50;  // 10^6 bytes
const char* const kCode =
    "import sys\n_chunk = 'x' * 999999 + '\\n'\nfor _ in range(50):\n    sys.stdout.write(_chunk)";

struct Variant {
  std::string name;
  std::size_t text_cap;
};

struct Result {
  Percentiles gateway_s, direct_s;
  double response_mb = 0;
  double stdout_mb = 0;  // the stdout field of the response
  bool truncated = false;
  double idle_rss_mb = 0, peak_rss_mb = 0, after_rss_mb = 0;
  int failures = 0;
};

double Seconds(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

Result Measure(const std::string& backend, const Variant& v, int rounds) {
  Result r;
  const std::size_t max_message = std::max<std::size_t>(64u << 20, v.text_cap + (16u << 20));
  auto launcher = MakeLauncher(backend);
  HubKernel direct(*launcher, v.text_cap + 4096, max_message);
  Gateway gateway(backend, {"--min-idle", "1", "--max-workers", "1", "--max-output-text",
                            std::to_string(v.text_cap)});
  if (!gateway.ok() || !gateway.WaitIdle(1, 120)) {
    r.failures = rounds;
    return r;
  }
  SyncClient client(gateway.target(), 512u << 20);
  const std::string body = ExecuteBody("stream", kCode);
  client.Post("/execute", ExecuteBody("stream", "1"));  // bind the session
  r.idle_rss_mb = RssMb(gateway.pid());
  Sampler sampler(gateway.pid(), std::chrono::milliseconds(20));
  std::vector<double> gateway_s, direct_s;
  for (int i = 0; i < rounds; ++i) {
    auto start = Clock::now();
    const Reply reply = client.Post("/execute", body);
    gateway_s.push_back(Seconds(start));
    r.failures += reply.status != 200;
    r.response_mb = static_cast<double>(reply.body.size()) / 1e6;
    r.truncated = reply.body.find("\"truncated\":true") != std::string::npos;
    const auto json = nlohmann::json::parse(reply.body, nullptr, false);
    if (json.is_object())
      r.stdout_mb = static_cast<double>(json.value("stdout", std::string()).size()) / 1e6;
    start = Clock::now();
    jupyter::OutputLimits limits;
    limits.max_text_bytes = v.text_cap;
    const auto result = direct.Execute(kCode, limits);
    direct_s.push_back(Seconds(start));
    r.failures += result.status != "ok";
  }
  for (const auto& s : sampler.Stop()) r.peak_rss_mb = std::max(r.peak_rss_mb, s.rss_mb);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  r.after_rss_mb = RssMb(gateway.pid());
  r.gateway_s = Summary(gateway_s);
  r.direct_s = Summary(direct_s);
  return r;
}

}  // namespace

Section RunStreaming(const RunConfig& config) {
  Section section;
  section.id = "streaming";
  section.title = "Streaming: a cell printing 50 MB";
  const std::string backend = config.backends.front();
  const int rounds = config.Count(3, 1);
  section.setup =
      "`sys.stdout.write` of 1 MB, 50 times, in one cell (" + backend +
      " backend), through the gateway (one keep-alive connection; the whole JSON response "
      "read) and through a direct KernelHub client on an identically configured kernel, " +
      std::to_string(rounds) +
      " rounds each, alternating; p50 of the wall time. Two gateway configurations: the "
      "default `--max-output-text` (1 MiB; the kernel-side cap drops the rest, the response "
      "says truncated) and `--max-output-text 67108864` (64 MiB: all 50 MB are carried; "
      "stdout appears twice in the response, as `stdout` and in `result_text`).";
  for (const Variant& v :
       {Variant{"default 1 MiB cap", 1u << 20}, Variant{"64 MiB cap", 64u << 20}}) {
    Progress("streaming: %s, %d rounds", v.name.c_str(), rounds);
    const Result r = Measure(backend, v, rounds);
    const double g = kPrintedMb / r.gateway_s.p50, d = kPrintedMb / r.direct_s.p50;
    section.rows.push_back({"50 MB printed, " + v.name + ": printed MB/s via gateway", g, "MB/s",
                            "direct ZeroMQ", d, "", std::nullopt,
                            v.text_cap < 50u << 20
                                ? "the kernel writing into its capped stream"
                                : "ipykernel: stream batching and JSON+ZeroMQ per message; "
                                  "then the gateway's JSON response"});
    // What the gateway holds per byte of output it returns: the collected stdout, the
    // result_text copy, the JSON object and its serialized body exist at the same time.
    const double growth = r.peak_rss_mb - r.idle_rss_mb;
    const bool capped = v.text_cap < (50u << 20);
    section.rows.push_back({"gateway RSS peak, " + v.name, r.peak_rss_mb, "MB", "gateway idle",
                            r.idle_rss_mb, capped ? "< 150 MB (bounded by the cap)" : "",
                            capped ? std::optional<bool>(r.peak_rss_mb < 150) : std::nullopt,
                            capped ? "the caps: what is printed beyond them never reaches "
                                     "the gateway"
                                   : "the whole output is held at once, several times"});
    section.rows.push_back({"gateway RSS growth at peak, " + v.name, growth, "MB",
                            "stdout returned", r.stdout_mb, "", std::nullopt,
                            "ratio = copies of the output held at once (stdout, result_text, "
                            "JSON value, serialized body, receive buffers)"});
    section.rows.push_back({"gateway RSS after, " + v.name, r.after_rss_mb, "MB", "gateway idle",
                            r.idle_rss_mb, "", std::nullopt, "malloc keeps some freed memory"});
    section.notes.push_back(v.name + ": response " + Format(r.response_mb) + " MB, truncated " +
                            (r.truncated ? "true" : "false") +
                            (r.failures ? ", " + std::to_string(r.failures) + " failures" : ""));
    section.data[v.name] = {{"text_cap", v.text_cap},         {"gateway_s", ToJson(r.gateway_s)},
                            {"direct_s", ToJson(r.direct_s)}, {"response_mb", r.response_mb},
                            {"stdout_mb", r.stdout_mb},       {"truncated", r.truncated},
                            {"idle_rss_mb", r.idle_rss_mb},   {"peak_rss_mb", r.peak_rss_mb},
                            {"after_rss_mb", r.after_rss_mb}, {"failures", r.failures}};
  }
  return section;
}

}  // namespace bench
