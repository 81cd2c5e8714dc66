#include "pool/session_limits.h"

#include <gtest/gtest.h>

namespace pool {
namespace {

using std::chrono::milliseconds;

const SessionLimits kDefaults{.memory_mb = 1024,
                              .cpus = 1.0,
                              .pids = 256,
                              .workspace_mb = 1024,
                              .timeout = milliseconds(30000),
                              .max_timeout = milliseconds(300000)};
const SessionLimits kCaps{.memory_mb = 4096,
                          .cpus = 2.0,
                          .pids = 1024,
                          .workspace_mb = 2048,
                          .timeout = milliseconds(300000),
                          .max_timeout = milliseconds(300000)};

std::string Refusal(const RequestedLimits& requested) {
  auto resolved = ResolveLimits(requested, kDefaults, kCaps);
  return resolved ? std::string() : resolved.error().message;
}

TEST(SessionLimitsTest, NothingAskedGivesTheDefaults) {
  auto resolved = ResolveLimits({}, kDefaults, kCaps);
  ASSERT_TRUE(resolved);
  EXPECT_EQ(*resolved, kDefaults);
}

TEST(SessionLimitsTest, WhatIsAskedWithinTheCapsIsKept) {
  auto resolved = ResolveLimits({.memory_mb = 4096,
                                 .cpus = 0.25,
                                 .pids = 64,
                                 .workspace_mb = 16,
                                 .timeout = milliseconds(5000),
                                 .max_timeout = milliseconds(10000)},
                                kDefaults, kCaps);
  ASSERT_TRUE(resolved) << resolved.error().message;
  EXPECT_EQ(resolved->memory_mb, 4096u);
  EXPECT_EQ(resolved->cpus, 0.25);
  EXPECT_EQ(resolved->pids, 64u);
  EXPECT_EQ(resolved->workspace_mb, 16u);
  EXPECT_EQ(resolved->timeout, milliseconds(5000));
  EXPECT_EQ(resolved->max_timeout, milliseconds(10000));
  const sandbox::ResourceLimits resources = ResourcesOf(*resolved);
  EXPECT_EQ(resources.memory_bytes, 4096ull << 20);
  EXPECT_EQ(resources.pids, 64u);
}

TEST(SessionLimitsTest, AboveACapIsRefusedNamingTheCap) {
  EXPECT_EQ(Refusal({.memory_mb = 4097}),
            "Field 'limits.memory_mb' must be at most 4096 (the server's cap, --max-memory-mb)");
  EXPECT_NE(Refusal({.cpus = 2.5}).find("at most 2 (the server's cap, --max-cpus)"),
            std::string::npos);
  EXPECT_NE(Refusal({.pids = 5000}).find("--max-pids"), std::string::npos);
  EXPECT_NE(Refusal({.workspace_mb = 4096}).find("--max-workspace-mb"), std::string::npos);
  EXPECT_NE(Refusal({.max_timeout = milliseconds(301000)}).find("--max-exec-timeout"),
            std::string::npos);
  EXPECT_NE(Refusal({.timeout = milliseconds(301000)}).find("--max-exec-timeout"),
            std::string::npos);
}

TEST(SessionLimitsTest, BelowTheSmallestIsRefused) {
  EXPECT_NE(Refusal({.memory_mb = 64}).find("at least 128"), std::string::npos);
  EXPECT_NE(Refusal({.pids = 4}).find("at least 32"), std::string::npos);
  EXPECT_NE(Refusal({.cpus = 0.001}).find("at least 0.01"), std::string::npos);
  EXPECT_NE(Refusal({.timeout = milliseconds(10)}).find("at least 0.1"), std::string::npos);
}

TEST(SessionLimitsTest, TheTimeoutStaysWithinTheSessionsMaximum) {
  EXPECT_NE(Refusal({.timeout = milliseconds(20000), .max_timeout = milliseconds(10000)})
                .find("the session's max_timeout"),
            std::string::npos);
  // A maximum below the default timeout lowers the default with it.
  auto resolved = ResolveLimits({.max_timeout = milliseconds(10000)}, kDefaults, kCaps);
  ASSERT_TRUE(resolved);
  EXPECT_EQ(resolved->timeout, milliseconds(10000));
}

}  // namespace
}  // namespace pool
