// Replays every file under fuzz/corpus/<target>/ and fuzz/crashes/<target>/ through the
// fuzz entry points, so inputs the fuzzers found keep passing in the normal (gcc) build.
// One test per file: a failing FUZZ_CHECK aborts the run, and the last "[ RUN ]" line names
// the input.

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "common/text.h"
#include "fuzz/targets.h"
#include "jupyter/execution.h"
#include "jupyter/wire.h"
#include "workspace/client_path.h"

namespace fuzz {
namespace {

namespace fs = std::filesystem;

const fs::path kFuzzDir = FUZZ_SOURCE_DIR;

struct Input {
  const Target* target;
  fs::path path;
};

std::vector<Input> AllInputs() {
  std::vector<Input> inputs;
  for (const Target& target : kTargets) {
    for (const char* kind : {"corpus", "crashes"}) {
      const fs::path dir = kFuzzDir / kind / target.name;
      if (!fs::is_directory(dir)) continue;
      std::vector<fs::path> files;
      for (const auto& entry : fs::directory_iterator(dir)) {
        if (entry.is_regular_file()) files.push_back(entry.path());
      }
      std::sort(files.begin(), files.end());
      for (const fs::path& file : files) inputs.push_back({&target, file});
    }
  }
  return inputs;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class CorpusTest : public ::testing::TestWithParam<Input> {};

TEST_P(CorpusTest, PassesTheHarness) {
  const Input& input = GetParam();
  SCOPED_TRACE(input.path.string());
  std::ifstream probe(input.path, std::ios::binary);
  ASSERT_TRUE(probe.good()) << "cannot read " << input.path;
  input.target->entry(ReadFile(input.path));
}

std::string TestName(const ::testing::TestParamInfo<Input>& info) {
  std::string name = std::string(info.param.target->name) + "_" +
                     info.param.path.parent_path().parent_path().filename().string() + "_" +
                     std::to_string(info.index) + "_";
  for (const char c : info.param.path.filename().string()) {
    name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Fuzz, CorpusTest, ::testing::ValuesIn(AllInputs()), TestName);

TEST(FuzzCorpusTest, EveryTargetHasSeeds) {
  for (const Target& target : kTargets) {
    const fs::path dir = kFuzzDir / "corpus" / target.name;
    ASSERT_TRUE(fs::is_directory(dir)) << dir;
    EXPECT_FALSE(fs::is_empty(dir)) << dir;
  }
}

// Bugs found by fuzzing, now fixed; their inputs live in fuzz/crashes/<target>/ and are
// replayed above as well.

// src/common/text.cc StripAnsi dropped the byte after a lone ESC even when it started a
// multi-byte UTF-8 sequence: a traceback line "\x1b\xc3\xa9" came out as "\xa9".
TEST(FuzzFixedBugTest, StripAnsiKeepsTracebackUtf8Whole) {
  FuzzJupyterWire(ReadFile(kFuzzDir / "crashes/jupyter_wire/strip-ansi-splits-utf8"));
  EXPECT_EQ(common::StripAnsi("\x1b\xc3\xa9t\xc3\xa9"), "\xc3\xa9t\xc3\xa9");
  EXPECT_EQ(common::StripAnsi("a\x1b"
                              "cb"),
            "ab");  // a two-byte escape still goes whole
}

// Kernel JSON used to be copied and dumped recursively with no depth limit, so a kernel that
// sent deeply nested arrays overflowed the hub thread's stack and took the gateway down.
// Decode now refuses frames nested deeper than 128 levels; ordinary nesting still passes.
TEST(FuzzFixedBugTest, DeeplyNestedKernelOutputIsRefusedNotACrash) {
  FuzzJupyterWire(ReadFile(kFuzzDir / "crashes/jupyter_wire/deeply-nested-reply"));
  const auto nested = [](int depth) {
    return std::string(static_cast<std::size_t>(depth), '[') +
           std::string(static_cast<std::size_t>(depth), ']');
  };
  const auto frames = [](const std::string& type, const std::string& content) {
    return std::vector<std::string>{
        "<IDS|MSG>", "", R"({"msg_id":"m","msg_type":")" + type + R"("})", "{}", "{}", content};
  };
  for (const std::string type : {"execute_reply", "display_data"}) {
    const std::string deep = nested(1'000'000);
    const std::string content = type == "execute_reply"
                                    ? R"({"status":"error","nested":)" + deep + "}"
                                    : R"({"data":{"text/plain":)" + deep + "}}";
    std::thread hub([&] {  // the hub's thread: default stack size
      const auto message = jupyter::Decode(frames(type, content), common::HmacKey(""));
      ASSERT_FALSE(message.has_value()) << type;
      EXPECT_NE(message.error().message.find("nests deeper"), std::string::npos)
          << message.error().message;
    });
    hub.join();
  }
  // Brackets inside strings do not count, and 100 real levels are fine.
  const auto ok =
      jupyter::Decode(frames("display_data", R"({"data":{"text/plain":")" + std::string(5000, '[') +
                                                 R"("},"x":)" + nested(100) + "}"),
                      common::HmacKey(""));
  ASSERT_TRUE(ok.has_value()) << ok.error().message;
  jupyter::OutputCollector collector(jupyter::OutputLimits{});
  collector.OnIopub(*ok);
}

// src/workspace/client_path.cc limited the raw input to 4096 bytes, so a 4096-byte relative
// path was accepted while its display form "/sandbox/..." (what a listing reports back) was
// refused. The limit is now on the normalized relative path (4095 bytes); both forms parse.
TEST(FuzzFixedBugTest, EveryAcceptedWorkspacePathAcceptsItsDisplayForm) {
  const std::string input =
      ReadFile(kFuzzDir / "crashes/workspace_path/display-form-over-the-limit");
  FuzzWorkspacePath(input);
  const auto parsed = workspace::ParseClientPath(input, workspace::PathUse::kFile);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  const auto display =
      workspace::ParseClientPath(workspace::DisplayPath(*parsed), workspace::PathUse::kFile);
  ASSERT_TRUE(display.has_value()) << display.error().message;
  EXPECT_EQ(*display, *parsed);
}

}  // namespace
}  // namespace fuzz
