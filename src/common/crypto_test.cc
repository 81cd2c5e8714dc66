#include "common/crypto.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <string_view>

namespace common {
namespace {

std::string Hmac(std::string_view key, std::string_view data) {
  HmacSha256 hmac(key);
  hmac.Update(data);
  return hmac.FinishHex();
}

// RFC 4231, section 4.
TEST(HmacSha256Test, Rfc4231TestCase1) {
  EXPECT_EQ(Hmac(std::string(20, '\x0b'), "Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

TEST(HmacSha256Test, Rfc4231TestCase2) {
  EXPECT_EQ(Hmac("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(HmacSha256Test, Rfc4231TestCase6KeyLargerThanBlock) {
  EXPECT_EQ(
      Hmac(std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First"),
      "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(HmacSha256Test, Rfc4231TestCase7KeyAndDataLargerThanBlock) {
  EXPECT_EQ(Hmac(std::string(131, '\xaa'),
                 "This is a test using a larger than block-size key and a larger than block-size "
                 "data. The key needs to be hashed before being used by the HMAC algorithm."),
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

TEST(HmacSha256Test, EmptyKeyAndEmptyData) {
  // Values from Python: hmac.new(key, data, hashlib.sha256).hexdigest().
  EXPECT_EQ(Hmac("", ""), "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
  EXPECT_EQ(Hmac("", "abc"), "fd7adb152c05ef80dccf50a1fa4c05d5a3ec6da95575fc312ae7c5d091836351");
  EXPECT_EQ(Hmac("key", ""), "5d5d139563c95b5967b9bd9a8c9b233a9dedb45072794cd232dc1b74832607d0");
}

TEST(HmacSha256Test, APreparedKeyGivesTheSameDigestEveryTime) {
  const HmacKey key("Jefe");
  for (int i = 0; i < 3; ++i) {  // each use starts from the prepared state, not the last one
    HmacSha256 hmac(key);
    hmac.Update("what do ya want ");
    hmac.Update("for nothing?");
    EXPECT_EQ(hmac.FinishHex(), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  }
  HmacKey moved = HmacKey(std::string(131, '\xaa'));
  HmacSha256 large(moved);
  large.Update("Test Using Larger Than Block-Size Key - Hash Key First");
  EXPECT_EQ(large.FinishHex(), "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  EXPECT_TRUE(HmacKey("").empty());
  EXPECT_FALSE(moved.empty());
}

TEST(HmacSha256Test, IncrementalUpdateEqualsOneShot) {
  HmacSha256 hmac("Jefe");
  hmac.Update("what do ya ");
  hmac.Update("");
  hmac.Update("want for nothing?");
  EXPECT_EQ(hmac.FinishHex(), Hmac("Jefe", "what do ya want for nothing?"));
}

TEST(HmacSha256Test, DigestDependsOnKeyAndData) {
  const std::string base = Hmac("key", "data");
  EXPECT_EQ(base.size(), 64u);
  EXPECT_NE(Hmac("kez", "data"), base);
  EXPECT_NE(Hmac("key", "datb"), base);
  EXPECT_EQ(Hmac("key", "data"), base);
}

TEST(HexEncodeTest, EncodesLowercase) {
  EXPECT_EQ(HexEncode(""), "");
  EXPECT_EQ(HexEncode(std::string_view("\x00\x0f\xa5\xff", 4)), "000fa5ff");
}

TEST(RandomHexTest, HasTwoLowercaseHexDigitsPerByte) {
  for (const std::size_t bytes : {1u, 16u, 32u}) {
    const auto hex = RandomHex(bytes);
    ASSERT_TRUE(hex.has_value()) << hex.error().message;
    EXPECT_EQ(hex->size(), 2 * bytes);
    EXPECT_EQ(hex->find_first_not_of("0123456789abcdef"), std::string::npos) << *hex;
  }
}

TEST(RandomHexTest, ValuesAreUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) seen.insert(RandomHex(16).value());
  EXPECT_EQ(seen.size(), 100u);
}

TEST(ConstantTimeEqualsTest, ComparesContentsAndLength) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("abcdef", "abcdef"));
  EXPECT_FALSE(ConstantTimeEquals("abcdef", "abcdeg"));
  EXPECT_FALSE(ConstantTimeEquals("xbcdef", "abcdef"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcdef")) << "a prefix is not equal";
  EXPECT_FALSE(ConstantTimeEquals("abcdef", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("", "a"));
}

TEST(SecretEqualsTest, ComparesSecretsOfAnyLength) {
  EXPECT_TRUE(SecretEquals("s3cret-token", "s3cret-token"));
  EXPECT_TRUE(SecretEquals("", ""));
  EXPECT_FALSE(SecretEquals("s3cret-token", "s3cret-tokem"));
  EXPECT_FALSE(SecretEquals("s3cret-token", "s3cret"));
  EXPECT_FALSE(SecretEquals("s3cret", "s3cret-token"));
  EXPECT_FALSE(SecretEquals("", "x"));
  EXPECT_TRUE(SecretEquals(std::string_view("a\0b", 3), std::string_view("a\0b", 3)));
  EXPECT_FALSE(SecretEquals(std::string_view("a\0b", 3), std::string_view("a\0c", 3)))
      << "bytes after a NUL count";
}

}  // namespace
}  // namespace common
