// The Jupyter wire format (messaging protocol 5.3): a message is a list of ZeroMQ frames
//   [identities...] "<IDS|MSG>" signature header parent_header metadata content [buffers...]
// where signature = hex(HMAC-SHA256(key, header + parent_header + metadata + content)).
// Pure functions, safe from any thread. Decode treats its input as hostile: it checks the
// signature over the bytes exactly as received (constant time, length checked) before
// parsing anything, repairs invalid UTF-8 and rejects messages of the wrong shape.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/crypto.h"
#include "common/result.h"

namespace jupyter {

inline constexpr std::string_view kDelimiter = "<IDS|MSG>";
inline constexpr std::string_view kProtocolVersion = "5.3";

struct Message {
  std::vector<std::string> identities;
  nlohmann::json header = nlohmann::json::object();
  nlohmann::json parent_header = nlohmann::json::object();
  nlohmann::json metadata = nlohmann::json::object();
  nlohmann::json content = nlohmann::json::object();
  std::vector<std::string> buffers;

  // Header fields; empty when absent (Decode guarantees msg_type and msg_id exist).
  std::string MsgType() const;
  std::string MsgId() const;
  // parent_header.msg_id, or empty.
  std::string ParentId() const;
};

// Builds a request with a fresh msg_id, the given session id and the current time.
Message MakeRequest(std::string_view msg_type, nlohmann::json content, std::string_view session);

// hex(HMAC-SHA256(key, parts...)); an empty key gives an empty signature (unsigned mode).
// Keys are prepared once (common::HmacKey): a kernel's key signs every message it exchanges.
std::string Sign(const common::HmacKey& key, std::string_view header, std::string_view parent,
                 std::string_view metadata, std::string_view content);

// Serializes `message` into frames, signed with `key`.
std::vector<std::string> Encode(const Message& message, const common::HmacKey& key);

// Parses and verifies frames received from a kernel. Fails on a missing delimiter, too few
// frames, a bad signature, JSON that is not an object, or a header without msg_type/msg_id.
common::Result<Message> Decode(const std::vector<std::string>& frames, const common::HmacKey& key);

// How much of a message its receiver needs, decided from its header and parent header alone.
enum class Interest {
  kNone,     // it would be dropped: not even verified (nullopt), so floods of messages for no
             // one cost no HMAC; a message that is acted upon is always verified
  kHeaders,  // verified; metadata and content stay empty objects
  kFull,     // verified and parsed whole
};

// The same, but only as far as `interest` asks: hashing and parsing are most of the cost of a
// large message, and most of what a kernel could flood with is not looked at. Framing and
// header errors fail at any interest.
common::Result<std::optional<Message>> Decode(
    const std::vector<std::string>& frames, const common::HmacKey& key,
    const std::function<Interest(const Message&)>& interest);

// A fresh random id (32 hex characters).
std::string NewId();

}  // namespace jupyter
