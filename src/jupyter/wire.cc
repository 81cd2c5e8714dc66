#include "jupyter/wire.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>

#include "common/crypto.h"
#include "common/text.h"

namespace jupyter {
namespace {

using nlohmann::json;

std::string StringField(const json& object, const char* name) {
  if (!object.is_object()) return {};
  const auto it = object.find(name);
  if (it == object.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

std::string IsoNow() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t secs = std::chrono::system_clock::to_time_t(now);
  const auto micros =
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() %
      1000000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(micros));
  return buf;
}

// Deeper than any real message; copying or dumping a deeper value recurses once per level,
// and a kernel could otherwise overflow the hub thread's stack with a few MB of brackets.
constexpr int kMaxJsonDepth = 128;

// True when `text`, read as JSON, nests arrays and objects deeper than `limit`.
bool NestsDeeperThan(std::string_view text, int limit) {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

// Parses one JSON frame from the kernel; invalid UTF-8 is repaired rather than rejected.
common::Result<json> ParseObject(const std::string& frame, const char* what) {
  if (NestsDeeperThan(frame, kMaxJsonDepth)) {
    return common::Fail(std::string("message ") + what + " nests deeper than " +
                        std::to_string(kMaxJsonDepth) + " levels");
  }
  json value = json::parse(common::IsValidUtf8(frame) ? frame : common::RepairUtf8(frame), nullptr,
                           /*allow_exceptions=*/false);
  if (!value.is_object())
    return common::Fail(std::string("message ") + what + " is not a JSON object");
  return value;
}

std::string Dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace

std::string Message::MsgType() const { return StringField(header, "msg_type"); }
std::string Message::MsgId() const { return StringField(header, "msg_id"); }
std::string Message::ParentId() const { return StringField(parent_header, "msg_id"); }

std::string NewId() {
  // A per-process random prefix plus a counter: unique, cheap, and not guessable by a kernel.
  static const std::string prefix = common::RandomHex(8).value_or("0000000000000000");
  static std::atomic<unsigned long long> counter{0};
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", counter.fetch_add(1) + 1);
  return prefix + buf;
}

Message MakeRequest(std::string_view msg_type, nlohmann::json content, std::string_view session) {
  Message message;
  message.header = {
      {"msg_id", NewId()},     {"msg_type", msg_type}, {"session", session},
      {"username", "gateway"}, {"date", IsoNow()},     {"version", kProtocolVersion},
  };
  message.content = std::move(content);
  return message;
}

std::string Sign(const common::HmacKey& key, std::string_view header, std::string_view parent,
                 std::string_view metadata, std::string_view content) {
  if (key.empty()) return {};
  common::HmacSha256 hmac(key);
  hmac.Update(header);
  hmac.Update(parent);
  hmac.Update(metadata);
  hmac.Update(content);
  return hmac.FinishHex();
}

std::vector<std::string> Encode(const Message& message, const common::HmacKey& key) {
  std::vector<std::string> frames = message.identities;
  std::string header = Dump(message.header);
  std::string parent = Dump(message.parent_header);
  std::string metadata = Dump(message.metadata);
  std::string content = Dump(message.content);
  frames.emplace_back(kDelimiter);
  frames.push_back(Sign(key, header, parent, metadata, content));
  frames.push_back(std::move(header));
  frames.push_back(std::move(parent));
  frames.push_back(std::move(metadata));
  frames.push_back(std::move(content));
  frames.insert(frames.end(), message.buffers.begin(), message.buffers.end());
  return frames;
}

common::Result<Message> Decode(const std::vector<std::string>& frames, const common::HmacKey& key) {
  auto message = Decode(frames, key, [](const Message&) { return Interest::kFull; });
  if (!message) return std::unexpected(message.error());
  return std::move(**message);
}

common::Result<std::optional<Message>> Decode(
    const std::vector<std::string>& frames, const common::HmacKey& key,
    const std::function<Interest(const Message&)>& interest) {
  std::size_t delim = 0;
  while (delim < frames.size() && frames[delim] != kDelimiter) ++delim;
  if (delim == frames.size()) return common::Fail("message has no <IDS|MSG> delimiter");
  if (frames.size() - delim < 6) return common::Fail("message has too few frames");
  const std::string& signature = frames[delim + 1];
  const std::string& header = frames[delim + 2];
  const std::string& parent = frames[delim + 3];
  const std::string& metadata = frames[delim + 4];
  const std::string& content = frames[delim + 5];

  Message message;
  auto h = ParseObject(header, "header");
  if (!h) return std::unexpected(h.error());
  auto p = ParseObject(parent, "parent_header");
  if (!p) return std::unexpected(p.error());
  message.header = std::move(*h);
  message.parent_header = std::move(*p);
  if (message.MsgType().empty() || message.MsgId().empty()) {
    return common::Fail("message header lacks msg_type or msg_id");
  }
  const Interest wanted = interest(message);
  if (wanted == Interest::kNone) return std::nullopt;
  if (!key.empty() &&
      !common::ConstantTimeEquals(signature, Sign(key, header, parent, metadata, content))) {
    return common::Fail("message signature does not verify");
  }
  message.identities.assign(frames.begin(), frames.begin() + static_cast<long>(delim));
  if (wanted == Interest::kHeaders) return message;
  auto m = ParseObject(metadata, "metadata");
  if (!m) return std::unexpected(m.error());
  auto c = ParseObject(content, "content");
  if (!c) return std::unexpected(c.error());
  message.metadata = std::move(*m);
  message.content = std::move(*c);
  message.buffers.assign(frames.begin() + static_cast<long>(delim) + 6, frames.end());
  return message;
}

}  // namespace jupyter
