#include "gateway/multipart_reader.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace gateway {
namespace {

struct Part {
  std::string name;
  std::optional<std::string> filename;
  std::string data;
  bool ended = false;
};

class Recorder : public MultipartHandler {
 public:
  common::Result<void> OnPartBegin(const PartHead& head) override {
    parts.push_back({head.name, head.filename, "", false});
    return {};
  }
  common::Result<void> OnPartData(std::string_view bytes) override {
    EXPECT_FALSE(parts.empty());
    parts.back().data.append(bytes);
    return {};
  }
  common::Result<void> OnPartEnd() override {
    parts.back().ended = true;
    return {};
  }
  std::vector<Part> parts;
};

// Feeds `body` in pieces of `step` bytes (0: whole); the error of Feed or Finish, if any.
std::optional<std::string> Read(const std::string& body, std::size_t step, Recorder& recorder,
                                const std::string& boundary = "XyZ") {
  MultipartReader reader(boundary, recorder);
  const std::size_t n = step == 0 ? body.size() : step;
  for (std::size_t at = 0; at < body.size(); at += n) {
    if (auto fed = reader.Feed(std::string_view(body).substr(at, n)); !fed)
      return fed.error().message;
  }
  if (auto done = reader.Finish(); !done) return done.error().message;
  return std::nullopt;
}

TEST(MultipartReaderTest, SameResultWhateverTheChunking) {
  const std::string body =
      "--XyZ\r\n"
      "Content-Disposition: form-data; name=\"note\"\r\n\r\n"
      "hello\r\n"
      "--XyZ\r\n"
      "content-disposition: form-data; name=file; filename=\"a %22b%22 \\ c.csv\"\r\n"
      "Content-Type: text/csv\r\n\r\n"
      "x,y\r\n1,2\r\n\r\n-"
      "\r\n--XyZ  \r\n"
      "Content-Disposition: form-data; name=\"empty\"; filename=\"e.bin\"\r\n\r\n"
      "\r\n--XyZ--\r\nepilogue --XyZ\r\n";
  for (const std::size_t step : {0, 1, 2, 3, 7, 64}) {
    Recorder r;
    EXPECT_EQ(Read(body, step, r), std::nullopt) << step;
    ASSERT_EQ(r.parts.size(), 3u) << step;
    EXPECT_EQ(r.parts[0].name, "note");
    EXPECT_FALSE(r.parts[0].filename);
    EXPECT_EQ(r.parts[0].data, "hello");
    EXPECT_EQ(r.parts[1].name, "file");
    EXPECT_EQ(r.parts[1].filename, "a %22b%22 \\ c.csv");  // as browsers encode it
    EXPECT_EQ(r.parts[1].data, "x,y\r\n1,2\r\n\r\n-");
    EXPECT_EQ(r.parts[2].filename, "e.bin");
    EXPECT_EQ(r.parts[2].data, "");
    for (const Part& p : r.parts) EXPECT_TRUE(p.ended);
  }
}

TEST(MultipartReaderTest, APreambleIsSkipped) {
  Recorder r;
  EXPECT_EQ(Read("ignore me\r\n--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n--XyZ--",
                 1, r),
            std::nullopt);
  ASSERT_EQ(r.parts.size(), 1u);
  EXPECT_EQ(r.parts[0].data, "v");
}

TEST(MultipartReaderTest, BrokenBodiesAreErrors) {
  const char* broken[] = {
      "--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\nno end",
      "--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n--XyZ",
      "--XyZjunk\r\n",
      "--XyZ\r\nContent-Type: text/plain\r\n\r\nv\r\n--XyZ--",
      "--XyZ\r\nContent-Disposition: attachment\r\n\r\nv\r\n--XyZ--",
      "--XyZ\r\nno colon here\r\n\r\nv\r\n--XyZ--",
      "--XyZ\r\nContent-Disposition: form-data; name=\"unterminated\r\n\r\nv\r\n--XyZ--",
      "",
  };
  for (const char* body : broken) {
    Recorder r;
    EXPECT_NE(Read(body, 0, r), std::nullopt) << body;
  }
  Recorder big;
  EXPECT_NE(Read("--XyZ\r\nX: " + std::string(kMaxPartHeaderBytes, 'a'), 0, big), std::nullopt);
  std::string many;
  for (std::size_t i = 0; i <= kMaxParts; ++i)
    many += "--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n";
  Recorder lots;
  EXPECT_NE(Read(many + "--XyZ--", 0, lots), std::nullopt);
}

TEST(MultipartReaderTest, HandlerErrorsStopTheBody) {
  class Refuser : public Recorder {
    common::Result<void> OnPartData(std::string_view) override { return common::Fail("full"); }
  } refuser;
  EXPECT_EQ(Read("--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\nvvvvvvvvvvv\r\n--XyZ--", 0,
                 refuser),
            "full");
}

TEST(FormBoundaryTest, FromTheContentType) {
  EXPECT_EQ(*FormBoundary("multipart/form-data; boundary=----WebKitFormBoundaryAbC"),
            "----WebKitFormBoundaryAbC");
  EXPECT_EQ(*FormBoundary("Multipart/Form-Data; charset=utf-8; boundary=\"a b\""), "a b");
  EXPECT_FALSE(FormBoundary("application/json").has_value());
  EXPECT_FALSE(FormBoundary("multipart/form-data").has_value());
  EXPECT_FALSE(FormBoundary("multipart/form-data; boundary=").has_value());
  EXPECT_FALSE(FormBoundary("multipart/form-data; boundary=" + std::string(71, 'a')).has_value());
}

}  // namespace
}  // namespace gateway
