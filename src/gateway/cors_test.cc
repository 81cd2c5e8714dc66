#include "gateway/cors.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "gateway/router.h"

namespace gateway {
namespace {

std::optional<std::string> Header(const HttpResponse& response, const std::string& name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) return value;
  }
  return std::nullopt;
}

TEST(CorsTest, TheDefaultAllowsEveryOriginFileUrlsIncluded) {
  const CorsConfig any;
  EXPECT_EQ(AllowedOrigin(any, "https://app.example"), "*");
  EXPECT_EQ(AllowedOrigin(any, "null"), "*");  // a page opened from file://
  EXPECT_EQ(AllowedOrigin(any, ""), "*");
  HttpResponse response = ErrorResponse(401, "Missing or invalid X-Auth-Token");
  AddCorsHeaders(response, any, "null");
  EXPECT_EQ(Header(response, "Access-Control-Allow-Origin"), "*");
  EXPECT_NE(Header(response, "Access-Control-Expose-Headers")->find("Retry-After"),
            std::string::npos);
  EXPECT_FALSE(Header(response, "Vary").has_value()) << "the answer does not depend on Origin";
}

TEST(CorsTest, AListEchoesOnlyItsOriginsAndVariesByOrigin) {
  const CorsConfig listed{.origins = {"https://app.example", "null"}};
  EXPECT_EQ(AllowedOrigin(listed, "https://app.example"), "https://app.example");
  EXPECT_EQ(AllowedOrigin(listed, "null"), "null");
  EXPECT_EQ(AllowedOrigin(listed, "https://evil.example"), "");
  EXPECT_EQ(AllowedOrigin(listed, "https://app.example.evil"), "") << "exact match only";
  EXPECT_EQ(AllowedOrigin(listed, ""), "");

  HttpResponse refused;
  AddCorsHeaders(refused, listed, "https://evil.example");
  EXPECT_FALSE(Header(refused, "Access-Control-Allow-Origin").has_value());
  EXPECT_EQ(Header(refused, "Vary"), "Origin");
  HttpResponse allowed;
  AddCorsHeaders(allowed, listed, "https://app.example");
  EXPECT_EQ(Header(allowed, "Access-Control-Allow-Origin"), "https://app.example");
}

TEST(CorsTest, NoOriginsMeansNoHeaders) {
  const CorsConfig off{.origins = {}};
  HttpResponse response;
  AddCorsHeaders(response, off, "https://app.example");
  EXPECT_TRUE(response.headers.empty());
}

TEST(CorsTest, APreflightNamesTheRoutesMethodsAndTheHeadersTheApiReads) {
  const HttpResponse ok = PreflightResponse(CorsConfig{}, "null", "GET, PUT, DELETE");
  EXPECT_EQ(ok.status, 204);
  EXPECT_TRUE(ok.body.empty());
  EXPECT_EQ(Header(ok, "Access-Control-Allow-Methods"), "GET, PUT, DELETE");
  const std::string headers = Header(ok, "Access-Control-Allow-Headers").value_or("");
  for (const char* name : {"X-Auth-Token", "Content-Type", "Last-Event-ID"})
    EXPECT_NE(headers.find(name), std::string::npos) << name;
  EXPECT_TRUE(Header(ok, "Access-Control-Max-Age").has_value());

  const HttpResponse refused =
      PreflightResponse(CorsConfig{.origins = {"https://app.example"}}, "https://evil", "POST");
  EXPECT_EQ(refused.status, 403);
  EXPECT_NE(refused.body.find("detail"), std::string::npos);
}

}  // namespace
}  // namespace gateway
