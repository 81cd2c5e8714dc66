#include "gateway/auth.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>

namespace gateway {
namespace {

namespace fs = std::filesystem;

class AuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "auth_test.XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }

  fs::path Write(const std::string& name, const std::string& text) {
    const fs::path path = dir_ / name;
    std::ofstream(path) << text;
    return path;
  }

  static std::string ReadAll(const fs::path& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  fs::path dir_;
};

common::Result<std::string> Load(const fs::path& state_dir,
                                 std::optional<std::string> from_env = std::nullopt,
                                 std::optional<fs::path> token_file = std::nullopt) {
  return LoadOrCreateToken(TokenSource{.from_env = std::move(from_env),
                                       .token_file = std::move(token_file),
                                       .state_dir = state_dir});
}

bool IsLowerHex(const std::string& s) {
  return s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

TEST_F(AuthTest, CreatesTokenFileWithMode0600) {
  const fs::path state = dir_ / "state";
  const auto token = Load(state);
  ASSERT_TRUE(token.has_value()) << token.error().message;
  EXPECT_EQ(token->size(), 64u);
  EXPECT_TRUE(IsLowerHex(*token)) << *token;

  const fs::path file = state / kTokenFileName;
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(ReadAll(file).substr(0, 64), *token);
  ASSERT_EQ(::stat(state.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0077, 0u) << "the state dir is private";
}

TEST_F(AuthTest, SecondCallReturnsTheSameToken) {
  const auto first = Load(dir_);
  const auto second = Load(dir_);
  ASSERT_TRUE(first.has_value()) << first.error().message;
  ASSERT_TRUE(second.has_value()) << second.error().message;
  EXPECT_EQ(*first, *second);

  std::error_code ec;
  fs::remove_all(dir_ / "other", ec);
  const auto elsewhere = Load(dir_ / "other");
  ASSERT_TRUE(elsewhere.has_value());
  EXPECT_NE(*elsewhere, *first) << "a new state dir gets a new random token";
}

TEST_F(AuthTest, ExistingStateFileIsReadAndTrimmed) {
  Write(kTokenFileName, "  existing-token-1234567890\n\n");
  const auto token = Load(dir_);
  ASSERT_TRUE(token.has_value()) << token.error().message;
  EXPECT_EQ(*token, "existing-token-1234567890");
}

TEST_F(AuthTest, EnvTokenWinsOverFiles) {
  Write(kTokenFileName, "state-file-token-1234567890\n");
  const fs::path file = Write("token.txt", "token-file-token-1234567890\n");
  const auto token = Load(dir_, " env-token-1234567890\t", file);
  ASSERT_TRUE(token.has_value()) << token.error().message;
  EXPECT_EQ(*token, "env-token-1234567890");
}

TEST_F(AuthTest, TokenFileIsReadTrimmedAndNeverCreated) {
  const fs::path file = Write("token.txt", "\n  file-token-abcdefghijkl \r\n");
  const fs::path state = dir_ / "state";
  const auto token = Load(state, std::nullopt, file);
  ASSERT_TRUE(token.has_value()) << token.error().message;
  EXPECT_EQ(*token, "file-token-abcdefghijkl");
  EXPECT_FALSE(fs::exists(state / kTokenFileName)) << "a token file given means no state file";
}

TEST_F(AuthTest, MissingTokenFileIsAnError) {
  const fs::path missing = dir_ / "missing.txt";
  const auto token = Load(dir_, std::nullopt, missing);
  EXPECT_FALSE(token.has_value());
  EXPECT_FALSE(fs::exists(missing)) << "the token file is read, never created";
  EXPECT_FALSE(fs::exists(dir_ / kTokenFileName)) << "no fallback to the state dir";
}

TEST_F(AuthTest, TooShortTokensAreErrors) {
  EXPECT_FALSE(Load(dir_, "short").has_value());
  EXPECT_FALSE(Load(dir_, "   ").has_value());
  EXPECT_FALSE(Load(dir_, "  " + std::string(15, 'a') + "  ").has_value())
      << "length is counted after trimming";
  EXPECT_TRUE(Load(dir_, std::string(16, 'a')).has_value()) << "16 characters is the minimum";

  const fs::path file = Write("short.txt", "0123456789\n");
  EXPECT_FALSE(Load(dir_, std::nullopt, file).has_value());
  Write(kTokenFileName, "\n");
  EXPECT_FALSE(Load(dir_).has_value()) << "empty state file";
}

}  // namespace
}  // namespace gateway
