#include "fetch/multipart.h"

#include <gtest/gtest.h>

namespace fetch {
namespace {

TEST(BuildMultipartFrame, FieldsInOrderThenTheFile) {
  auto frame = BuildMultipartFrame({{"key", "uploads/a.csv"}, {"policy", "eyJ9"}}, "a.csv", "BND");
  ASSERT_TRUE(frame) << frame.error().message;
  EXPECT_EQ(frame->content_type, "multipart/form-data; boundary=BND");
  EXPECT_EQ(frame->head,
            "--BND\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nuploads/a.csv\r\n"
            "--BND\r\nContent-Disposition: form-data; name=\"policy\"\r\n\r\neyJ9\r\n"
            "--BND\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n");
  EXPECT_EQ(frame->tail, "\r\n--BND--\r\n");
  EXPECT_EQ(frame->ContentLength(10), frame->head.size() + 10 + frame->tail.size());
}

TEST(BuildMultipartFrame, RefusesInjection) {
  EXPECT_FALSE(BuildMultipartFrame({{"a\"b", "v"}}, "f", "BND"));
  EXPECT_FALSE(BuildMultipartFrame({{"a\r\nX: y", "v"}}, "f", "BND"));
  EXPECT_FALSE(BuildMultipartFrame({{"", "v"}}, "f", "BND"));
  EXPECT_FALSE(BuildMultipartFrame({{"k", "x\r\n--BND--"}}, "f", "BND"));
  EXPECT_FALSE(BuildMultipartFrame({}, "f", ""));
  auto frame = BuildMultipartFrame({{"k", "multi\r\nline"}}, "a\"b\\c\r\n.csv", "BND");
  ASSERT_TRUE(frame);
  EXPECT_NE(frame->head.find("filename=\"a_b_c__.csv\""), std::string::npos) << frame->head;
  EXPECT_NE(frame->head.find("multi\r\nline"), std::string::npos);
}

}  // namespace
}  // namespace fetch
