#include <gtest/gtest.h>

#include "gateway/byte_range.h"
#include "gateway/content_type.h"
#include "gateway/query.h"

namespace gateway {
namespace {

TEST(QueryTest, DecodesPairsAsFormsDo) {
  auto params = ParseQuery("/files?user_uuid=u%201&path=%2Fsandbox%2Fa+b.csv&flag&x=");
  ASSERT_TRUE(params.has_value()) << params.error().message;
  EXPECT_EQ(params->at("user_uuid"), "u 1");
  EXPECT_EQ(params->at("path"), "/sandbox/a b.csv");
  EXPECT_EQ(params->at("flag"), "");
  EXPECT_EQ(params->at("x"), "");
  EXPECT_TRUE(ParseQuery("/files")->empty());
  EXPECT_TRUE(ParseQuery("/files?")->empty());
}

TEST(QueryTest, AnyByteButNulComesThrough) {
  auto params = ParseQuery("/files?path=%ff%0a%25%2");
  ASSERT_TRUE(params.has_value());
  EXPECT_EQ(params->at("path"), std::string("\xff\n%%2"));
  EXPECT_FALSE(ParseQuery("/files?path=a%00b").has_value());
  EXPECT_FALSE(ParseQuery("/files?pa%00th=a").has_value());
}

TEST(QueryTest, RefusesRepeatsAndHugeQueries) {
  auto twice = ParseQuery("/files?path=a&path=b");
  ASSERT_FALSE(twice.has_value());
  EXPECT_NE(twice.error().message.find("more than once"), std::string::npos);
  EXPECT_FALSE(ParseQuery("/files?path=" + std::string(kMaxQueryBytes, 'a')).has_value());
}

TEST(QueryTest, Booleans) {
  QueryParams params{{"a", "true"}, {"b", "0"}, {"c", "yes"}};
  EXPECT_TRUE(*BoolParam(params, "a"));
  EXPECT_FALSE(*BoolParam(params, "b"));
  EXPECT_FALSE(*BoolParam(params, "missing"));
  EXPECT_FALSE(BoolParam(params, "c").has_value());
}

TEST(ByteRangeTest, ServesOneRange) {
  auto r = ChooseRange("bytes=0-99", 1000);
  ASSERT_TRUE(r.range);
  EXPECT_EQ(r.range->offset, 0u);
  EXPECT_EQ(r.range->length, 100u);
  r = ChooseRange("bytes=990-", 1000);
  EXPECT_EQ(r.range->offset, 990u);
  EXPECT_EQ(r.range->length, 10u);
  r = ChooseRange("bytes=-10", 1000);
  EXPECT_EQ(r.range->offset, 990u);
  EXPECT_EQ(r.range->length, 10u);
  r = ChooseRange("bytes=-5000", 1000);
  EXPECT_EQ(r.range->offset, 0u);
  EXPECT_EQ(r.range->length, 1000u);
  r = ChooseRange("bytes=500-99999", 1000);
  EXPECT_EQ(r.range->length, 500u);
}

TEST(ByteRangeTest, IgnoresWhatItDoesNotServeAndRefusesWhatCannotBe) {
  EXPECT_FALSE(ChooseRange(std::nullopt, 10).range);
  EXPECT_FALSE(ChooseRange("bytes=0-1,5-6", 10).range);
  EXPECT_FALSE(ChooseRange("items=0-1", 10).range);
  EXPECT_FALSE(ChooseRange("bytes=5-1", 10).range);
  EXPECT_FALSE(ChooseRange("bytes=a-b", 10).range);
  EXPECT_FALSE(ChooseRange("bytes=99999999999999999999-", 10).range);
  EXPECT_TRUE(ChooseRange("bytes=10-", 10).unsatisfiable);
  EXPECT_TRUE(ChooseRange("bytes=0-", 0).unsatisfiable);
  EXPECT_TRUE(ChooseRange("bytes=-0", 10).unsatisfiable);
}

TEST(ContentTypeTest, ByExtensionAndNeverRunnable) {
  EXPECT_EQ(ContentTypeFor("chart.PNG"), "image/png");
  EXPECT_EQ(ContentTypeFor("data.csv"), "text/csv; charset=utf-8");
  EXPECT_EQ(ContentTypeFor("page.html"), "application/octet-stream");
  EXPECT_EQ(ContentTypeFor("image.svg"), "application/octet-stream");
  EXPECT_EQ(ContentTypeFor("noext"), "application/octet-stream");
  EXPECT_EQ(ContentTypeFor("trailing."), "application/octet-stream");
}

}  // namespace
}  // namespace gateway
