#include "common/base64.h"

#include <gtest/gtest.h>

namespace common {
namespace {

TEST(Base64Test, RoundTripsEveryLengthAndIgnoresWhitespace) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  std::string bytes;
  for (int i = 0; i < 300; ++i) {
    EXPECT_EQ(Base64Decode(Base64Encode(bytes)), bytes) << i;
    bytes += static_cast<char>(i * 37);
  }
  EXPECT_EQ(Base64Decode("Zm9v\nYmFy\n"), "foobar");
}

TEST(Base64Test, RefusesWhatIsNotBase64) {
  for (const char* text : {"Zg=", "Z", "Zg==Zg==", "Z!==", "=Zg=", "Zm9v-A=="})
    EXPECT_EQ(Base64Decode(text), std::nullopt) << text;
}

}  // namespace
}  // namespace common
