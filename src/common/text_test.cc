#include "common/text.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace common {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

std::string Replacements(int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += kReplacement;
  return out;
}

TEST(Utf8Test, AcceptsWellFormedText) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii\n"));
  EXPECT_TRUE(IsValidUtf8("caf\xC3\xA9"));                // U+00E9
  EXPECT_TRUE(IsValidUtf8("\xE2\x82\xAC"));               // U+20AC
  EXPECT_TRUE(IsValidUtf8("\xF0\x9F\x98\x80"));           // U+1F600 emoji
  EXPECT_TRUE(IsValidUtf8("\xED\x9F\xBF"));               // U+D7FF, just below surrogates
  EXPECT_TRUE(IsValidUtf8("\xF4\x8F\xBF\xBF"));           // U+10FFFF, the last code point
  EXPECT_TRUE(IsValidUtf8(std::string_view("a\0b", 3)));  // NUL is valid UTF-8
}

TEST(Utf8Test, RejectsOverlongs) {
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));  // '/' in two bytes
  EXPECT_FALSE(IsValidUtf8("\xC1\xBF"));
  EXPECT_FALSE(IsValidUtf8("\xE0\x80\xAF"));      // '/' in three bytes
  EXPECT_FALSE(IsValidUtf8("\xF0\x80\x80\xAF"));  // '/' in four bytes
}

TEST(Utf8Test, RejectsSurrogatesAndCodePointsPastU10FFFF) {
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // U+D800
  EXPECT_FALSE(IsValidUtf8("\xED\xBF\xBF"));      // U+DFFF
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // U+110000
  EXPECT_FALSE(IsValidUtf8("\xF5\x80\x80\x80"));
  EXPECT_FALSE(IsValidUtf8("\xFF"));
}

TEST(Utf8Test, RejectsTruncatedSequencesAndLoneContinuationBytes) {
  EXPECT_FALSE(IsValidUtf8("\xC3"));
  EXPECT_FALSE(IsValidUtf8("\xE2\x82"));
  EXPECT_FALSE(IsValidUtf8("\xF0\x9F\x98"));
  EXPECT_FALSE(
      IsValidUtf8("ab\xE2\x82"
                  "c"));  // truncated in the middle of text
  EXPECT_FALSE(IsValidUtf8("\x80"));
  EXPECT_FALSE(
      IsValidUtf8("a\xBF"
                  "b"));
}

TEST(Utf8Test, RepairLeavesValidTextUnchanged) {
  const std::string text = "x = 1 \xE2\x86\x92 \xF0\x9F\x98\x80 caf\xC3\xA9";
  EXPECT_EQ(RepairUtf8(text), text);
  EXPECT_EQ(RepairUtf8(""), "");
}

TEST(Utf8Test, RepairReplacesEachIllFormedByte) {
  EXPECT_EQ(RepairUtf8("a\xC0\xAF"
                       "b"),
            "a" + Replacements(2) + "b");
  EXPECT_EQ(RepairUtf8("a\xED\xA0\x80"
                       "b"),
            "a" + Replacements(3) + "b");
  EXPECT_EQ(RepairUtf8("a\xF4\x90\x80\x80"
                       "b"),
            "a" + Replacements(4) + "b");
  EXPECT_EQ(RepairUtf8("\x80"), Replacements(1));
}

TEST(Utf8Test, RepairHandlesTruncationAndKeepsFollowingCharacters) {
  const std::string repaired = RepairUtf8(
      "ab\xE2\x82"
      "c\xF0\x9F\x98\x80");
  EXPECT_TRUE(IsValidUtf8(repaired));
  EXPECT_TRUE(repaired.starts_with(std::string("ab") + std::string(kReplacement)));
  EXPECT_TRUE(repaired.ends_with("c\xF0\x9F\x98\x80")) << "the emoji after the damage is kept";
  EXPECT_EQ(RepairUtf8("end\xF0\x9F\x98"), "end" + Replacements(3));
}

TEST(Utf8Test, RepairOutputIsAlwaysValid) {
  std::string all_bytes;
  for (int b = 0; b < 256; ++b) all_bytes += static_cast<char>(b);
  EXPECT_FALSE(IsValidUtf8(all_bytes));
  EXPECT_TRUE(IsValidUtf8(RepairUtf8(all_bytes)));
}

TEST(StripAnsiTest, RemovesIpythonColourCodes) {
  EXPECT_EQ(StripAnsi("\x1b[0;31mNameError\x1b[0m: name 'x' is not defined"),
            "NameError: name 'x' is not defined");
  EXPECT_EQ(StripAnsi("\x1b[1;32m----> 1\x1b[39m x"), "----> 1 x");
  EXPECT_EQ(StripAnsi("\x1b[38;5;241mgrey\x1b[0m"), "grey");
}

TEST(StripAnsiTest, RemovesOscSequences) {
  EXPECT_EQ(StripAnsi("a\x1b]0;window title\x07"
                      "b"),
            "ab");                                                               // BEL
  EXPECT_EQ(StripAnsi("a\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\b"), "alinkb");  // ST
}

TEST(StripAnsiTest, RemovesTwoByteAndDanglingEscapes) {
  EXPECT_EQ(StripAnsi("a\x1b"
                      "cb"),
            "ab");
  EXPECT_EQ(StripAnsi("text\x1b"), "text");
  EXPECT_EQ(StripAnsi("text\x1b[31"), "text");  // unterminated CSI
}

TEST(StripAnsiTest, LeavesPlainTextUntouched) {
  const std::string text = "Traceback (most recent call last):\n  [1] x = {'a': 1}\t\xC3\xA9";
  EXPECT_EQ(StripAnsi(text), text);
  EXPECT_EQ(StripAnsi(""), "");
}

TEST(PrintableTest, EscapesControlCharacters) {
  EXPECT_EQ(Printable("a\nb\tc\x1b\x7f"), "a\\x0ab\\x09c\\x1b\\x7f");
  EXPECT_EQ(Printable(std::string_view("\0", 1)), "\\x00");
  EXPECT_EQ(Printable("caf\xC3\xA9"), "caf\xC3\xA9") << "non-ASCII text is not escaped";
}

TEST(PrintableTest, KeepsShortTextAndCutsLongTextWithEllipsis) {
  EXPECT_EQ(Printable("hello", 5), "hello");
  EXPECT_EQ(Printable("hello world", 5), "hello...");
  EXPECT_EQ(Printable(std::string(200, 'x')), std::string(80, 'x') + "...");
}

TEST(PrintableTest, CutNeverSplitsAMultiByteCharacter) {
  // "ab" + U+20AC (3 bytes): a cut at 4 bytes falls inside the euro sign.
  const std::string out = Printable(
      "ab\xE2\x82\xAC"
      "cd",
      4);
  EXPECT_EQ(out, "ab...");
  EXPECT_TRUE(IsValidUtf8(out));
}

TEST(PrintableTest, OutputIsValidUtf8EvenForBadInput) {
  EXPECT_TRUE(IsValidUtf8(Printable("bad \xC0\xAF \xED\xA0\x80")));
}

TEST(TruncateUtf8Test, ReturnsShortInputWhole) {
  EXPECT_EQ(TruncateUtf8("abc", 3), "abc");
  EXPECT_EQ(TruncateUtf8("abc", 10), "abc");
  EXPECT_EQ(TruncateUtf8("abc", 0), "");
}

TEST(TruncateUtf8Test, NeverSplitsAMultiByteSequence) {
  const std::string text =
      "a\xC3\xA9"
      "b\xE2\x82\xAC"
      "c\xF0\x9F\x98\x80";  // 1+2+1+3+1+4 bytes
  for (std::size_t max = 0; max <= text.size(); ++max) {
    const std::string_view cut = TruncateUtf8(text, max);
    EXPECT_LE(cut.size(), max);
    EXPECT_TRUE(IsValidUtf8(cut)) << "max=" << max;
    EXPECT_TRUE(text.starts_with(cut));
  }
  EXPECT_EQ(TruncateUtf8(text, 2), "a");
  EXPECT_EQ(TruncateUtf8(text, 3), "a\xC3\xA9");
  EXPECT_EQ(TruncateUtf8(text, 6),
            "a\xC3\xA9"
            "b");
  EXPECT_EQ(TruncateUtf8(text, 11),
            "a\xC3\xA9"
            "b\xE2\x82\xAC"
            "c");
}

}  // namespace
}  // namespace common
