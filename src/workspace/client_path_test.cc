#include "workspace/client_path.h"

#include <gtest/gtest.h>

#include <string>

namespace workspace {
namespace {

Components Parse(std::string_view raw, PathUse use = PathUse::kFile) {
  auto parsed = ParseClientPath(raw, use);
  EXPECT_TRUE(parsed.has_value()) << raw << ": " << parsed.error().message;
  return parsed.value_or(Components{});
}

void ExpectBad(std::string_view raw, std::string_view reason, PathUse use = PathUse::kFile) {
  auto parsed = ParseClientPath(raw, use);
  ASSERT_FALSE(parsed.has_value()) << raw;
  EXPECT_EQ(parsed.error().code, FsErrc::kBadPath);
  EXPECT_EQ(HttpStatus(parsed.error().code), 400);
  EXPECT_NE(parsed.error().message.find(reason), std::string::npos) << parsed.error().message;
}

TEST(ClientPathTest, AbsoluteAndRelativeFormsMeanTheSame) {
  const Components expected{"a", "b.csv"};
  EXPECT_EQ(Parse("/sandbox/a/b.csv"), expected);
  EXPECT_EQ(Parse("a/b.csv"), expected);
  EXPECT_EQ(Parse("//sandbox//a/./b.csv/"), expected);
  EXPECT_EQ(Parse("./a//b.csv"), expected);
  EXPECT_EQ(Parse("sandbox/x"), (Components{"sandbox", "x"}));  // relative to /sandbox
}

TEST(ClientPathTest, TheRootIsADirectoryNotAFile) {
  EXPECT_EQ(Parse("/sandbox", PathUse::kDirectory), Components{});
  EXPECT_EQ(Parse("/sandbox/", PathUse::kDirectory), Components{});
  EXPECT_EQ(Parse("", PathUse::kDirectory), Components{});
  EXPECT_EQ(Parse(".", PathUse::kDirectory), Components{});
  ExpectBad("/sandbox", "workspace root");
  ExpectBad(".", "workspace root");
  ExpectBad("", "required");
}

TEST(ClientPathTest, RefusesClimbingNulAndOtherRoots) {
  ExpectBad("../etc/passwd", "\"..\"");
  ExpectBad("/sandbox/a/../b", "\"..\"");  // even when it would stay inside
  ExpectBad("a/..", "\"..\"");
  ExpectBad("/sandbox/..", "\"..\"");
  ExpectBad("..", "\"..\"", PathUse::kDirectory);
  ExpectBad(std::string_view("a\0b", 3), "NUL");
  ExpectBad("/etc/passwd", "under /sandbox");
  ExpectBad("/sandboxes/a", "under /sandbox");
  ExpectBad("/", "under /sandbox", PathUse::kDirectory);
  ExpectBad("/tmp", "under /sandbox", PathUse::kDirectory);
}

TEST(ClientPathTest, BoundsPathAndComponentLength) {
  EXPECT_EQ(Parse(std::string(255, 'x')).size(), 1u);
  ExpectBad(std::string(256, 'x'), "component is longer than 255");
  std::string long_path(kMaxPathBytes - 1, 'a');
  for (std::size_t i = 1; i < long_path.size(); i += 2) long_path[i] = '/';
  long_path += 'b';  // 4095 bytes: a/a/.../b
  ASSERT_EQ(long_path.size(), kMaxPathBytes);
  EXPECT_FALSE(Parse(long_path).empty());
  EXPECT_FALSE(Parse("/sandbox/" + long_path).empty());   // the display form as well
  EXPECT_FALSE(Parse("./" + long_path + "/./").empty());  // what collapses does not count
  ExpectBad(long_path + "c", "longer than 4095 bytes below /sandbox");
  ExpectBad(std::string(kMaxInputBytes + 1, '/'), "longer than 8192 bytes");
}

TEST(ClientPathTest, NamesAreBytes) {
  const std::string odd = "new\nline\\\xff\xfe name";
  EXPECT_EQ(Parse("/sandbox/" + odd), Components{odd});
  EXPECT_TRUE(IsValidComponent(odd));
  EXPECT_FALSE(IsValidComponent(".."));
  EXPECT_FALSE(IsValidComponent("a/b"));
  EXPECT_FALSE(IsValidComponent(std::string_view("a\0", 2)));
  EXPECT_FALSE(IsValidComponent(""));
}

TEST(ClientPathTest, DisplayAndEncodings) {
  EXPECT_EQ(DisplayPath({}), "/sandbox");
  const Components path{"a", "b c.csv"};
  EXPECT_EQ(DisplayPath(path), "/sandbox/a/b c.csv");
  EXPECT_EQ(RelativePath(path), "a/b c.csv");
  EXPECT_EQ(PercentEncode("/sandbox/a/b c\xff.csv"), "/sandbox/a/b%20c%FF.csv");
  EXPECT_EQ(JsonText("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(JsonText("bad\xff"), "bad\xef\xbf\xbd");  // U+FFFD
  EXPECT_EQ(MessagePath(Components{"a\nb"}), "/sandbox/a\\x0ab");
  // The round trip: whatever the listing reports, the percent-decoded bytes parse back.
  const std::string name = "x\xff\n";
  std::string decoded;
  const std::string encoded = PercentEncode(DisplayPath(Components{name}));
  for (std::size_t i = 0; i < encoded.size(); ++i) {
    if (encoded[i] == '%') {
      decoded += static_cast<char>(std::stoi(encoded.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      decoded += encoded[i];
    }
  }
  EXPECT_EQ(Parse(decoded), Components{name});
}

}  // namespace
}  // namespace workspace
