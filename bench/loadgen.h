// HTTP/1.1 clients for the benchmarks: a load generator that drives many keep-alive
// connections at once from one Asio thread, and a blocking keep-alive client for sequential
// measurements. Boost.Beast stays inside loadgen.cc; this header is plain C++.
//
// RunLoad and SyncClient are independent: each call owns its own io_context, so they may be
// used from any thread, one call per thread at a time.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace bench {

struct Target {
  int port = 0;
  std::string token;
};

// One request of a client's script: POST `body` to `path`; the exchange counts as ok when the
// status is 200 and the response body contains `expect` (when not empty).
struct Step {
  std::string body;
  std::string expect;
  std::string path = "/execute";
};

// One virtual user: its own keep-alive connection, its steps sent one after another.
struct Script {
  std::vector<Step> steps;
};

struct Exchange {
  int status = 0;         // 0: the connection failed or was closed before the answer
  bool ok = false;        // status 200 and `expect` found
  double sent_ms = 0;     // since the common start, when the request had been written
  double done_ms = 0;     // since the common start, when the whole response had arrived
  std::size_t bytes = 0;  // response body size
  std::string body;       // kept only with LoadOptions::keep_bodies

  double LatencyMs() const { return done_ms - sent_ms; }
};

struct LoadOptions {
  bool keep_bodies = false;
  std::size_t max_response_bytes = 64u << 20;
  // Zero: run every script to its end. Otherwise every connection is closed this long after
  // the start, abandoning what is still open (its exchanges keep status 0).
  std::chrono::milliseconds hang_up_after{0};
};

struct LoadResult {
  std::vector<std::vector<Exchange>> clients;  // per script, one entry per step sent
  double wall_ms = 0;                          // start to last answer (or hang-up)
  int connect_failures = 0;
  double connect_ms = 0;  // time taken to open every connection before the start
};

// Opens one connection per script (all before the clock starts), then starts every script at
// once on one Asio thread (the caller's). Blocks until all scripts finished (or the hang-up).
// Throws nothing: failures show in the exchanges.
LoadResult RunLoad(const Target& target, const std::vector<Script>& scripts,
                   const LoadOptions& options);

struct Reply {
  int status = 0;  // 0: connection failed
  std::string body;
  double ms = 0;  // from the first byte written to the last byte read
};

// A blocking HTTP/1.1 keep-alive connection (TCP_NODELAY), reconnecting when the server has
// closed it. A request without an answer within `timeout` fails (status 0) and drops the
// connection, so a lost answer cannot stall a benchmark. Not thread-safe.
class SyncClient {
 public:
  explicit SyncClient(Target target, std::size_t max_response_bytes = 256u << 20,
                      std::chrono::milliseconds timeout = std::chrono::seconds(60));
  ~SyncClient();
  SyncClient(const SyncClient&) = delete;
  SyncClient& operator=(const SyncClient&) = delete;

  Reply Post(const std::string& path, const std::string& body);
  Reply Get(const std::string& path);

 private:
  struct Impl;
  Impl* impl_;
};

// JSON bodies for POST /execute and /release.
std::string ExecuteBody(const std::string& user, const std::string& code, double timeout = 0);
std::string ReleaseBody(const std::string& user);

}  // namespace bench
