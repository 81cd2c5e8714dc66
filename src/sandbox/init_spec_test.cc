#include "sandbox/init_spec.h"

#include <gtest/gtest.h>

namespace sandbox {
namespace {

// Every limit reaches the sandbox's init: a field missing from the JSON silently fell back
// to its default (the pids limit inside was 256 whatever --pids said).
TEST(InitSpecTest, EveryLimitSurvivesTheRoundTrip) {
  InitSpec spec;
  spec.worker_fd = 5;
  spec.system_fd = 6;
  spec.uid = 7;
  spec.gid = 8;
  spec.limits.pids = 40;
  spec.limits.ptys = 3;
  spec.limits.tmp_bytes = 1 << 20;
  spec.limits.home_bytes = 2 << 20;
  spec.limits.file_size_bytes = 3 << 20;
  spec.limits.data_bytes = 5 << 20;
  spec.limits.open_files = 99;
  spec.argv = {"python3"};
  spec.env = {"A=b"};
  spec.system_root = "/var/lib/code-interpreter/environments/python/0123/root";
  const InitSpec back = nlohmann::json::parse(nlohmann::json(spec).dump()).get<InitSpec>();
  EXPECT_EQ(back.limits.pids, 40u);
  EXPECT_EQ(back.limits.ptys, 3u);
  EXPECT_EQ(back.limits.tmp_bytes, 1u << 20);
  EXPECT_EQ(back.limits.home_bytes, 2u << 20);
  EXPECT_EQ(back.limits.file_size_bytes, 3u << 20);
  EXPECT_EQ(back.limits.data_bytes, 5u << 20);
  EXPECT_EQ(back.limits.open_files, 99u);
  EXPECT_EQ(back.worker_fd, 5);
  EXPECT_EQ(back.system_fd, 6);
  EXPECT_EQ(back.uid, 7u);
  EXPECT_EQ(back.gid, 8u);
  EXPECT_EQ(back.argv, spec.argv);
  EXPECT_EQ(back.env, spec.env);
  EXPECT_EQ(back.system_root, spec.system_root);
}

}  // namespace
}  // namespace sandbox
