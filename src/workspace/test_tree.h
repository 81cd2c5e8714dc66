// Test support for the workspace tests: a temporary directory holding `root/` (the workspace,
// opened O_PATH | O_DIRECTORY as the gateway holds it) and `outside/` with a canary file that
// no operation may ever touch, plus helpers to plant what a hostile kernel would. Tests only.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "common/unique_fd.h"
#include "workspace/beneath.h"
#include "workspace/writer.h"

namespace workspace {
namespace fs = std::filesystem;
}  // namespace workspace

namespace workspace::testing {

inline std::string ReadHostFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void WriteHostFile(const fs::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

// Everything about a file that an attack could change.
struct FileState {
  std::string content;
  mode_t mode;
  uid_t uid;
  std::int64_t mtime_ns;
  nlink_t links;
  bool operator==(const FileState&) const = default;
};

inline FileState StateOf(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(lstat(path.c_str(), &st), 0) << path;
  return {ReadHostFile(path), st.st_mode, st.st_uid,
          static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec,
          st.st_nlink};
}

inline void MakeSocket(const fs::path& path) {
  const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0) << strerror(errno);
  close(fd);  // the socket file stays
}

class TreeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ci-workspace-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    root_ = base_ / "root";
    outside_ = base_ / "outside";
    fs::create_directories(root_);
    fs::create_directories(outside_);
    canary_ = outside_ / "canary";
    WriteHostFile(canary_, "canary: must never change\n");
    chmod(canary_.c_str(), 0600);
    canary_state_ = StateOf(canary_);
    root_fd_ = common::UniqueFd(open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    ASSERT_TRUE(root_fd_.Valid());
  }

  void TearDown() override {
    SetResolverForTesting(Resolver::kAuto);
    SetTempStrategyForTesting(TempStrategy::kAuto);
    SetAfterMkdirHookForTesting(nullptr);
    EXPECT_EQ(StateOf(canary_), canary_state_) << "the canary outside the workspace changed";
    EXPECT_EQ(fs::directory_entry(outside_ / "canary").exists(), true);
    std::error_code ignored;
    fs::remove_all(base_, ignored);
  }

  int root() const { return root_fd_.Get(); }

  // Names in `dir` (relative to root_), to check that nothing partial or temporary is left.
  std::vector<std::string> Names(const fs::path& dir = {}) const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(root_ / dir)) {
      names.push_back(entry.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
  }

  fs::path base_, root_, outside_, canary_;
  FileState canary_state_{};
  common::UniqueFd root_fd_;
};

// The same tests under both resolvers (openat2 and the walk).
class ResolverTest : public TreeTest, public ::testing::WithParamInterface<Resolver> {
 protected:
  void SetUp() override {
    if (GetParam() == Resolver::kOpenat2 && !KernelHasOpenat2()) {
      GTEST_SKIP() << "this kernel has no openat2";
    }
    TreeTest::SetUp();
    SetResolverForTesting(GetParam());
  }
};

inline std::string ResolverName(const ::testing::TestParamInfo<Resolver>& info) {
  return info.param == Resolver::kWalk ? "Walk" : "Openat2";
}

#define WORKSPACE_BOTH_RESOLVERS(suite)                                                 \
  INSTANTIATE_TEST_SUITE_P(                                                             \
      Resolvers, suite,                                                                 \
      ::testing::Values(::workspace::Resolver::kOpenat2, ::workspace::Resolver::kWalk), \
      ::workspace::testing::ResolverName)

}  // namespace workspace::testing
