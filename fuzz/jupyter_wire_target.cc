// Decode on frames a kernel could send, then what the hub does with a decoded message: the
// OutputCollector and, at the end of an execution, the HTTP response body.
//
// Input: byte 0 selects how the message is signed (mode & 3):
//   0  the harness signs it correctly with kKey, so the fuzzer reaches the JSON parsing;
//   1  the signature frame is used as given, verified with kKey;
//   2  unsigned mode: the empty key, no verification;
//   3  signed correctly but with another key.
// The rest is frames: a 2-byte little-endian length, then that many bytes (fewer when the
// input ends first).

#include <cstdint>
#include <string>
#include <vector>

#include "common/text.h"
#include "fuzz/check.h"
#include "fuzz/targets.h"
#include "gateway/api.h"
#include "jupyter/execution.h"
#include "jupyter/wire.h"

namespace fuzz {
namespace {

using nlohmann::json;

constexpr std::string_view kKey = "fuzz-key-0123456789";
constexpr std::string_view kOtherKey = "another-key";
constexpr std::size_t kMaxFrames = 64;

std::vector<std::string> SplitFrames(std::string_view input) {
  std::vector<std::string> frames;
  while (input.size() >= 2 && frames.size() < kMaxFrames) {
    const std::size_t length = static_cast<std::uint8_t>(input[0]) |
                               static_cast<std::size_t>(static_cast<std::uint8_t>(input[1])) << 8;
    input.remove_prefix(2);
    const std::string_view frame = input.substr(0, length);
    frames.emplace_back(frame);
    input.remove_prefix(frame.size());
  }
  return frames;
}

// Replaces the signature frame (when the message has one) with `key`'s signature.
void SignWith(std::string_view key, std::vector<std::string>& frames) {
  const common::HmacKey hmac_key(key);
  std::size_t delim = 0;
  while (delim < frames.size() && frames[delim] != jupyter::kDelimiter) ++delim;
  if (frames.size() - delim < 6) return;
  frames[delim + 1] = jupyter::Sign(hmac_key, frames[delim + 2], frames[delim + 3],
                                    frames[delim + 4], frames[delim + 5]);
}

std::string Dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

void CheckDecoded(const std::vector<std::string>& frames, std::string_view key,
                  const jupyter::Message& message) {
  std::size_t delim = 0;
  while (frames[delim] != jupyter::kDelimiter) ++delim;
  if (!key.empty()) {
    FUZZ_CHECK(
        frames[delim + 1] == jupyter::Sign(common::HmacKey(key), frames[delim + 2],
                                           frames[delim + 3], frames[delim + 4], frames[delim + 5]),
        "a message with a wrong signature was accepted");
  }
  FUZZ_CHECK(!message.MsgType().empty() && !message.MsgId().empty(), "header lacks type or id");
  FUZZ_CHECK(message.identities.size() == delim, "identities are not the frames before <IDS|MSG>");
  FUZZ_CHECK(message.buffers.size() == frames.size() - delim - 6,
             "buffers are not the tail frames");
  for (const json* part :
       {&message.header, &message.parent_header, &message.metadata, &message.content}) {
    FUZZ_CHECK(part->is_object(), "a decoded part is not an object");
    FUZZ_CHECK(common::IsValidUtf8(Dump(*part)), "a decoded part is not valid UTF-8");
  }

  // What we send must decode to what we sent.
  const common::HmacKey hmac_key(kKey);
  const auto again = jupyter::Decode(jupyter::Encode(message, hmac_key), hmac_key);
  FUZZ_CHECK(again.has_value(), "a re-encoded message does not decode");
  FUZZ_CHECK(Dump(again->header) == Dump(message.header) &&
                 Dump(again->parent_header) == Dump(message.parent_header) &&
                 Dump(again->metadata) == Dump(message.metadata) &&
                 Dump(again->content) == Dump(message.content) &&
                 again->identities == message.identities && again->buffers == message.buffers,
             "Encode then Decode changed the message");
}

void CheckUtf8(const std::string& text, const char* what) {
  FUZZ_CHECK(common::IsValidUtf8(text), what);
}

// Feeds the message twice (so the caps are reached) and builds the response body.
void Collect(const jupyter::Message& message) {
  const jupyter::OutputLimits limits{.max_text_bytes = 256, .max_image_bytes = 512};
  jupyter::OutputCollector collector(limits);
  for (int i = 0; i < 2; ++i) {
    if (message.MsgType() == "execute_reply") {
      collector.OnReply(message);
    } else {
      collector.OnIopub(message);
    }
  }
  const jupyter::ExecutionResult& result = collector.result();
  FUZZ_CHECK(result.stdout_text.size() + result.stderr_text.size() <= limits.max_text_bytes,
             "streams exceed the text cap");
  CheckUtf8(result.stdout_text, "stdout is not valid UTF-8");
  CheckUtf8(result.stderr_text, "stderr is not valid UTF-8");
  CheckUtf8(result.result_text, "result_text is not valid UTF-8");
  if (result.error) {
    CheckUtf8(result.error->ename, "ename is not valid UTF-8");
    CheckUtf8(result.error->evalue, "evalue is not valid UTF-8");
    for (const std::string& line : result.error->traceback) {
      CheckUtf8(line, "a traceback line is not valid UTF-8");
    }
  }

  pool::ExecuteOutcome outcome;
  outcome.result = result;
  const gateway::HttpResponse response = gateway::ExecuteResponse(outcome);
  FUZZ_CHECK(common::IsValidUtf8(response.body), "the response body is not valid UTF-8");
  FUZZ_CHECK(json::parse(response.body, nullptr, false).is_object(),
             "the response body is not a JSON object");
}

}  // namespace

void FuzzJupyterWire(std::string_view input) {
  if (input.empty()) return;
  const int mode = static_cast<std::uint8_t>(input[0]) & 3;
  std::vector<std::string> frames = SplitFrames(input.substr(1));
  std::string_view key = kKey;
  if (mode == 0) SignWith(kKey, frames);
  if (mode == 2) key = {};
  if (mode == 3) SignWith(kOtherKey, frames);

  const auto message = jupyter::Decode(frames, common::HmacKey(key));
  if (!message) {
    FUZZ_CHECK(!message.error().message.empty(), "an error without a message");
    return;
  }
  FUZZ_CHECK(mode != 3, "a message signed with another key was accepted");
  CheckDecoded(frames, key, *message);
  Collect(*message);
}

}  // namespace fuzz
