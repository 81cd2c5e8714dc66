#include "jupyter/wire.h"

#include <gtest/gtest.h>

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/text.h"

namespace jupyter {
namespace {

using nlohmann::json;

constexpr std::string_view kKey = "secret-key";
const common::HmacKey kHmacKey(kKey);

// A message signed by Python's hmac module:
//   hmac.new(b"secret-key", header + parent + metadata + content, hashlib.sha256).hexdigest()
constexpr std::string_view kHeader =
    R"({"msg_id":"abc","msg_type":"execute_reply","session":"s1","version":"5.3"})";
constexpr std::string_view kParent = R"({"msg_id":"p1"})";
constexpr std::string_view kMetadata = "{}";
constexpr std::string_view kContent = R"({"execution_count":3,"status":"ok"})";
constexpr std::string_view kPythonSignature =
    "97ffaac1289458f9899288916e630bbf4cbbd4705a6a63c560db1e4bf7270641";

// Frames for the given parts, signed correctly with kKey unless a signature is given.
std::vector<std::string> Frames(std::string_view header, std::string_view content,
                                std::vector<std::string> identities = {},
                                std::optional<std::string> signature = std::nullopt) {
  std::vector<std::string> frames = std::move(identities);
  frames.emplace_back(kDelimiter);
  frames.push_back(signature.value_or(Sign(kHmacKey, header, kParent, kMetadata, content)));
  for (const std::string_view part : {header, kParent, kMetadata, content})
    frames.emplace_back(part);
  return frames;
}

std::vector<std::string> GoldenFrames() {
  return Frames(kHeader, kContent, {}, std::string(kPythonSignature));
}

void ExpectRejected(const std::vector<std::string>& frames, std::string_view why) {
  const auto decoded = Decode(frames, kHmacKey);
  EXPECT_FALSE(decoded.has_value()) << why;
}

TEST(WireTest, SignMatchesPythonHmac) {
  EXPECT_EQ(Sign(kHmacKey, kHeader, kParent, kMetadata, kContent), kPythonSignature);
}

TEST(WireTest, SignatureCoversEveryPartInOrder) {
  const std::string good(kPythonSignature);
  EXPECT_NE(Sign(kHmacKey, kParent, kHeader, kMetadata, kContent), good) << "order matters";
  EXPECT_NE(Sign(kHmacKey, kHeader, kParent, "{ }", kContent), good) << "metadata is signed";
  EXPECT_NE(Sign(common::HmacKey("other-key"), kHeader, kParent, kMetadata, kContent), good);
}

TEST(WireTest, EmptyKeyGivesEmptySignature) {
  EXPECT_EQ(Sign(common::HmacKey(""), kHeader, kParent, kMetadata, kContent), "");
}

TEST(WireTest, DecodeAcceptsMessageSignedByPython) {
  const auto decoded = Decode(GoldenFrames(), kHmacKey);
  ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
  EXPECT_TRUE(decoded->identities.empty());
  EXPECT_EQ(decoded->MsgType(), "execute_reply");
  EXPECT_EQ(decoded->MsgId(), "abc");
  EXPECT_EQ(decoded->ParentId(), "p1");
  EXPECT_EQ(decoded->header["session"], "s1");
  EXPECT_EQ(decoded->metadata, json::object());
  EXPECT_EQ(decoded->content, json({{"status", "ok"}, {"execution_count", 3}}));
  EXPECT_TRUE(decoded->buffers.empty());
}

TEST(WireTest, EncodeDecodeRoundTrip) {
  Message message = MakeRequest("execute_request",
                                {{"code", "print('h\xC3\xA9')"}, {"silent", false}}, "session-1");
  message.identities = {"router-id", "kernel.abc.execute_request"};
  message.parent_header = {{"msg_id", "parent"}};
  message.metadata = {{"tag", 7}};
  message.buffers = {std::string("raw\x00"
                                 "bytes",
                                 9),
                     "second"};

  const std::vector<std::string> frames = Encode(message, kHmacKey);
  ASSERT_EQ(frames.size(), 2u + 6u + 2u);
  EXPECT_EQ(frames[0], "router-id");
  EXPECT_EQ(frames[2], kDelimiter);
  EXPECT_EQ(frames[3], Sign(kHmacKey, frames[4], frames[5], frames[6], frames[7]))
      << "signature is over the frames exactly as sent";

  const auto decoded = Decode(frames, kHmacKey);
  ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
  EXPECT_EQ(decoded->identities, message.identities);
  EXPECT_EQ(decoded->header, message.header);
  EXPECT_EQ(decoded->parent_header, message.parent_header);
  EXPECT_EQ(decoded->metadata, message.metadata);
  EXPECT_EQ(decoded->content, message.content);
  EXPECT_EQ(decoded->buffers, message.buffers);
}

TEST(WireTest, EncodeReplacesInvalidUtf8InsteadOfThrowing) {
  Message message = MakeRequest("stream", {{"text", "bad \xC0\xAF end"}}, "s");
  std::vector<std::string> frames;
  ASSERT_NO_THROW(frames = Encode(message, kHmacKey));
  EXPECT_TRUE(common::IsValidUtf8(frames[5])) << frames[5];
  const auto decoded = Decode(frames, kHmacKey);
  ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
  EXPECT_EQ(decoded->content["text"], "bad \xEF\xBF\xBD\xEF\xBF\xBD end");
}

TEST(WireTest, UnsignedModeSkipsVerification) {
  Message message = MakeRequest("kernel_info_request", json::object(), "s");
  const std::vector<std::string> frames = Encode(message, common::HmacKey(""));
  EXPECT_EQ(frames[1], "");
  const auto decoded = Decode(frames, common::HmacKey(""));
  ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
  EXPECT_EQ(decoded->MsgType(), "kernel_info_request");
}

TEST(WireTest, DecodeKeepsIdentitiesAndBuffers) {
  std::vector<std::string> frames = Frames(kHeader, kContent, {"id-one", "kernel.1.status"});
  frames.push_back("buffer-0");
  frames.push_back(std::string("\xff\x00\x01", 3));
  const auto decoded = Decode(frames, kHmacKey);
  ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
  EXPECT_EQ(decoded->identities, (std::vector<std::string>{"id-one", "kernel.1.status"}));
  EXPECT_EQ(decoded->buffers,
            (std::vector<std::string>{"buffer-0", std::string("\xff\x00\x01", 3)}));
  EXPECT_EQ(decoded->MsgType(), "execute_reply");
}

TEST(WireTest, DecodeRejectsMissingDelimiter) {
  std::vector<std::string> frames = GoldenFrames();
  frames.erase(frames.begin());
  ExpectRejected(frames, "no delimiter");
}

TEST(WireTest, DecodeRejectsTooFewFrames) {
  std::vector<std::string> frames = GoldenFrames();
  frames.pop_back();
  ExpectRejected(frames, "content frame missing");
  ExpectRejected({std::string(kDelimiter)}, "delimiter only");
  ExpectRejected({}, "no frames");
}

TEST(WireTest, DecodeRejectsBadSignatures) {
  std::string wrong(kPythonSignature);
  wrong[10] = wrong[10] == 'a' ? 'b' : 'a';
  ExpectRejected(Frames(kHeader, kContent, {}, wrong), "one hex digit changed");
  ExpectRejected(Frames(kHeader, kContent, {}, std::string(kPythonSignature.substr(0, 63))),
                 "signature one character short");
  ExpectRejected(Frames(kHeader, kContent, {}, std::string(kPythonSignature) + "0"),
                 "signature one character long");
  ExpectRejected(Frames(kHeader, kContent, {}, ""), "empty signature");
  EXPECT_FALSE(Decode(GoldenFrames(), common::HmacKey("other-key")).has_value()) << "wrong key";
}

// What no one waits for is dropped before the signature is computed; anything that will be
// acted upon is verified, headers-only included.
TEST(WireTest, DecodeVerifiesOnlyWhatIsOfInterest) {
  std::string wrong(kPythonSignature);
  wrong[10] = wrong[10] == 'a' ? 'b' : 'a';
  const auto frames = Frames(kHeader, kContent, {}, wrong);
  int asked = 0;
  const auto none = Decode(frames, kHmacKey, [&](const Message& m) {
    ++asked;
    EXPECT_EQ(m.MsgType(), "execute_reply");
    return Interest::kNone;
  });
  ASSERT_TRUE(none.has_value()) << none.error().message;
  EXPECT_FALSE(none->has_value()) << "dropped, not decoded";
  EXPECT_EQ(asked, 1);
  EXPECT_FALSE(
      Decode(frames, kHmacKey, [](const Message&) { return Interest::kHeaders; }).has_value())
      << "headers-only messages are verified too";
  const auto headers =
      Decode(GoldenFrames(), kHmacKey, [](const Message&) { return Interest::kHeaders; });
  ASSERT_TRUE(headers.has_value() && headers->has_value());
  EXPECT_EQ((*headers)->MsgType(), "execute_reply");
  EXPECT_TRUE((*headers)->content.empty()) << "content is not parsed";
  EXPECT_FALSE(
      Decode(Frames("null", kContent), kHmacKey, [](const Message&) { return Interest::kNone; })
          .has_value())
      << "a broken header is an error at any interest";
}

TEST(WireTest, DecodeRejectsTamperedContent) {
  std::vector<std::string> frames = GoldenFrames();
  frames[5] = R"({"execution_count":4,"status":"ok"})";  // one byte flipped
  ExpectRejected(frames, "content changed after signing");
  frames = GoldenFrames();
  frames[2] = R"({"msg_id":"abd","msg_type":"execute_reply","session":"s1","version":"5.3"})";
  ExpectRejected(frames, "header changed after signing");
}

TEST(WireTest, DecodeRejectsNonObjectJson) {
  ExpectRejected(Frames(kHeader, "[1,2]"), "content is an array");
  ExpectRejected(Frames(kHeader, "\"text\""), "content is a string");
  ExpectRejected(Frames(kHeader, "{not json"), "content is not JSON");
  ExpectRejected(Frames("null", kContent), "header is null");
}

TEST(WireTest, DecodeRejectsHeaderWithoutMsgTypeOrMsgId) {
  ExpectRejected(Frames(R"({"msg_id":"abc","session":"s1"})", kContent), "no msg_type");
  ExpectRejected(Frames(R"({"msg_id":"abc","msg_type":7})", kContent), "msg_type not a string");
  ExpectRejected(Frames(R"({"msg_type":"status"})", kContent), "no msg_id");
}

TEST(WireTest, DecodeRepairsInvalidUtf8WhenSignatureIsRight) {
  const std::string content = "{\"name\":\"stdout\",\"text\":\"bad \xC0\xAF end\"}";
  ASSERT_FALSE(common::IsValidUtf8(content));
  const auto decoded = Decode(Frames(kHeader, content), kHmacKey);
  ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
  const auto text = decoded->content["text"].get<std::string>();
  EXPECT_TRUE(common::IsValidUtf8(text));
  EXPECT_EQ(text, "bad \xEF\xBF\xBD\xEF\xBF\xBD end");
  EXPECT_NO_THROW((void)decoded->content.dump()) << "the decoded JSON can be serialized";
}

TEST(WireTest, DecodeChecksSignatureBeforeRepairing) {
  const std::string content = "{\"text\":\"bad \xC0\xAF end\"}";
  ExpectRejected(Frames(kHeader, content, {},
                        Sign(kHmacKey, kHeader, kParent, kMetadata, common::RepairUtf8(content))),
                 "signature over the repaired text instead of the bytes received");
}

TEST(WireTest, MakeRequestFillsHeader) {
  const Message message = MakeRequest("execute_request", {{"code", "1+1"}}, "session-42");
  EXPECT_EQ(message.MsgType(), "execute_request");
  EXPECT_EQ(message.MsgId().size(), 32u);
  EXPECT_EQ(message.header["session"], "session-42");
  EXPECT_EQ(message.header["version"], "5.3");
  ASSERT_TRUE(message.header.contains("date"));
  EXPECT_TRUE(message.header["date"].is_string());
  EXPECT_TRUE(message.header.contains("username"));
  EXPECT_EQ(message.content["code"], "1+1");
  EXPECT_TRUE(message.parent_header.empty());
  EXPECT_TRUE(message.identities.empty());
  EXPECT_NE(MakeRequest("execute_request", {}, "s").MsgId(), message.MsgId());
}

TEST(WireTest, NewIdIsUniqueHex) {
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) {
    const std::string id = NewId();
    ASSERT_EQ(id.size(), 32u);
    ASSERT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 1000u);
}

TEST(WireTest, AccessorsAreEmptyWhenFieldsAreMissing) {
  Message message;
  EXPECT_EQ(message.MsgType(), "");
  EXPECT_EQ(message.MsgId(), "");
  EXPECT_EQ(message.ParentId(), "");
  message.parent_header = {{"msg_id", 5}};
  EXPECT_EQ(message.ParentId(), "");
}

}  // namespace
}  // namespace jupyter
