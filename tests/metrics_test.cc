// GET /metrics against the real binary: what executions, interrupts and kernel starts did is
// counted, the pool's gauges are there, and Prometheus' own checker (promtool, which
// scripts/install-deps.sh installs from Debian's prometheus package) accepts the output.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "support/server_process.h"
#include "support/shell.h"

namespace {

using testing_support::HttpClient;
using testing_support::HttpReply;
using testing_support::ServerProcess;

// "name{labels} value" lines -> value; comments skipped.
std::map<std::string, double> Samples(const std::string& text) {
  std::map<std::string, double> samples;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line[0] == '#') continue;
    const std::size_t space = line.rfind(' ');
    samples[line.substr(0, space)] = std::strtod(line.c_str() + space + 1, nullptr);
  }
  return samples;
}

// promtool's exit status for `text`, or -1 when promtool is not installed.
int PromtoolCheck(const std::string& text, std::string& output) {
  if (std::system("command -v promtool >/dev/null 2>&1") != 0) return -1;
  char file[] = "/tmp/ci-metrics-XXXXXX";
  const int fd = ::mkstemp(file);
  if (fd < 0) return -1;
  ::close(fd);
  std::ofstream(file) << text;
  const int status =
      testing_support::Shell(std::string("promtool check metrics < ") + file, output);
  std::remove(file);
  return status;
}

TEST(MetricsTest, ExecutionsKernelsAndConnectionsAreCountedInPrometheusFormat) {
  ServerProcess server({"--min-idle", "1", "--interrupt-grace", "5"});
  ASSERT_TRUE(server.ok()) << server.Log();
  const HttpClient c = server.Client();
  EXPECT_EQ(c.Get("/metrics", false).status, 401);

  ASSERT_EQ(c.Execute("m", "1 + 1").status, 200);
  ASSERT_EQ(c.Execute("m", "1 / 0").status, 400);
  const HttpReply slow = c.Execute("m", "import time\ntime.sleep(30)", 0.5);
  ASSERT_TRUE(slow.Json()["timed_out"].get<bool>()) << slow.body;

  const HttpReply scraped =
      c.Request("GET", "/metrics", "", {{"Authorization", "Bearer " + server.token()}});
  ASSERT_EQ(scraped.status, 200) << scraped.body;
  EXPECT_EQ(scraped.headers.at("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  const auto s = Samples(scraped.body);
  EXPECT_EQ(s.at(R"(code_interpreter_executions_total{outcome="ok"})"), 1);
  EXPECT_EQ(s.at(R"(code_interpreter_executions_total{outcome="error"})"), 1);
  EXPECT_EQ(s.at(R"(code_interpreter_executions_total{outcome="timed_out"})"), 1);
  EXPECT_EQ(s.at(R"(code_interpreter_api_executions_total{mode="plain"})"), 3);
  EXPECT_EQ(s.count(R"(code_interpreter_api_executions_total{mode="detached"})"), 0u)
      << "none asked for yet";
  EXPECT_EQ(s.at(R"(code_interpreter_interrupts_total{reason="deadline"})"), 1);
  EXPECT_EQ(s.at(R"(code_interpreter_interrupts_total{reason="requested"})"), 0);
  EXPECT_EQ(s.at("code_interpreter_execution_duration_seconds_count"), 3);
  EXPECT_GE(s.at("code_interpreter_execution_duration_seconds_sum"), 0.5);
  EXPECT_EQ(s.at("code_interpreter_queue_wait_seconds_count"), 3);
  const std::string env = server.Client().Get("/status").Json()["default_environment"];
  EXPECT_GE(s.at("code_interpreter_kernel_start_seconds_count{environment=\"" + env + "\"}"), 1);
  EXPECT_EQ(s.at("code_interpreter_kernel_start_failures_total{environment=\"" + env + "\"}"), 0);
  EXPECT_EQ(s.at("code_interpreter_oom_kills_total{environment=\"" + env + "\"}"), 0);
  EXPECT_EQ(s.at("code_interpreter_sessions{environment=\"" + env + "\"}"), 1);
  EXPECT_EQ(s.at("code_interpreter_workers{environment=\"" + env + "\",state=\"busy\"}"), 1);
  EXPECT_GE(s.at("code_interpreter_http_connections"), 1);
  EXPECT_GT(s.at("code_interpreter_http_request_body_bytes_total"), 50);
  EXPECT_GT(s.at("code_interpreter_http_response_body_bytes_total"), 500);

  std::string lint;
  const int status = PromtoolCheck(scraped.body, lint);
  ASSERT_NE(status, -1) << "promtool is not installed (scripts/install-deps.sh installs it)";
  EXPECT_EQ(status, 0) << lint << scraped.body;
  c.Release("m");
}

}  // namespace
