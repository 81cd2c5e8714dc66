#include "jupyter/zmtp.h"

#include <algorithm>
#include <cctype>
#include <cstring>

namespace jupyter::zmtp {
namespace {

constexpr std::uint8_t kMore = 0x01;
constexpr std::uint8_t kLong = 0x02;
constexpr std::uint8_t kCommand = 0x04;
constexpr std::uint8_t kReservedFlags = 0xF8;
constexpr std::string_view kMechanism = "NULL";
// A frame body larger than this is refused outright; anything below it is at worst skipped.
constexpr std::uint64_t kMaxDeclaredFrame = std::uint64_t{1} << 62;

void AppendSize(std::string& out, std::uint64_t size, bool long_size) {
  if (!long_size) {
    out.push_back(static_cast<char>(size));
    return;
  }
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(size >> shift));
}

void AppendFrame(std::string& out, std::uint8_t flags, std::string_view body) {
  const bool long_size = body.size() > 255;
  out.push_back(static_cast<char>(flags | (long_size ? kLong : 0)));
  AppendSize(out, body.size(), long_size);
  out.append(body);
}

std::uint32_t ReadU32(std::string_view bytes) {
  std::uint32_t value = 0;
  for (int i = 0; i < 4; ++i) value = (value << 8) | static_cast<std::uint8_t>(bytes[i]);
  return value;
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// The value of property `name` in a READY command's metadata, or an error when it is
// malformed; empty when absent.
common::Result<std::string> FindProperty(std::string_view props, std::string_view name) {
  std::string found;
  while (!props.empty()) {
    const std::size_t name_size = static_cast<std::uint8_t>(props[0]);
    if (props.size() < 1 + name_size + 4) return common::Fail("malformed READY property");
    const std::string_view key = props.substr(1, name_size);
    const std::uint32_t value_size = ReadU32(props.substr(1 + name_size));
    props.remove_prefix(1 + name_size + 4);
    if (value_size > props.size()) return common::Fail("malformed READY property value");
    if (EqualsIgnoreCase(key, name)) found.assign(props.substr(0, value_size));
    props.remove_prefix(value_size);
  }
  return found;
}

}  // namespace

std::string Greeting() {
  std::string g(kGreetingBytes, '\0');
  g[0] = static_cast<char>(0xFF);
  g[9] = 0x7F;
  g[10] = 3;  // major
  g[11] = 0;  // minor: 3.0, so subscriptions are messages, not commands
  std::memcpy(g.data() + 12, kMechanism.data(), kMechanism.size());
  return g;  // as-server (byte 32) and filler stay zero
}

std::string Ready(std::string_view socket_type) {
  std::string body = "\x05READY";
  constexpr std::string_view kName = "Socket-Type";
  body.push_back(static_cast<char>(kName.size()));
  body.append(kName);
  for (int shift = 24; shift >= 0; shift -= 8) {
    body.push_back(static_cast<char>(socket_type.size() >> shift));
  }
  body.append(socket_type);
  std::string out;
  AppendFrame(out, kCommand, body);
  return out;
}

std::string EncodeMessage(const std::vector<std::string>& frames) {
  std::size_t total = 0;
  for (const std::string& frame : frames) total += frame.size() + 9;
  std::string out;
  out.reserve(total);
  for (std::size_t i = 0; i < frames.size(); ++i) {
    AppendFrame(out, i + 1 < frames.size() ? kMore : 0, frames[i]);
  }
  return out;
}

std::string SubscribeAll() { return EncodeMessage({std::string(1, '\x01')}); }

Decoder::Decoder(DecoderLimits limits, std::vector<std::string> peer_types)
    : limits_(limits), peer_types_(std::move(peer_types)) {}

common::Result<void> Decoder::Feed(std::string_view bytes, Output& out) {
  while (!bytes.empty()) {
    switch (state_) {
      case State::kGreeting: {
        const std::size_t take = std::min(kGreetingBytes - header_.size(), bytes.size());
        header_.append(bytes.substr(0, take));
        bytes.remove_prefix(take);
        if (header_.size() < kGreetingBytes) break;
        if (auto ok = OnGreeting(); !ok) return ok;
        header_.clear();
        state_ = State::kFlags;
        break;
      }
      case State::kFlags:
        flags_ = static_cast<std::uint8_t>(bytes[0]);
        bytes.remove_prefix(1);
        if (flags_ & kReservedFlags) return common::Fail("frame has reserved flag bits set");
        header_.clear();
        state_ = State::kSize;
        break;
      case State::kSize: {
        const std::size_t need = (flags_ & kLong) ? 8 : 1;
        const std::size_t take = std::min(need - header_.size(), bytes.size());
        header_.append(bytes.substr(0, take));
        bytes.remove_prefix(take);
        if (header_.size() < need) break;
        remaining_ = 0;
        for (const char c : header_) remaining_ = (remaining_ << 8) | static_cast<std::uint8_t>(c);
        if (auto ok = OnFrameHeader(); !ok) return ok;
        state_ = State::kBody;
        if (remaining_ == 0) {
          if (auto ok = OnFrameEnd(out); !ok) return ok;
        }
        break;
      }
      case State::kBody: {
        const std::size_t take =
            static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, bytes.size()));
        if (!skipping_ || (flags_ & kCommand)) frame_.append(bytes.substr(0, take));
        bytes.remove_prefix(take);
        remaining_ -= take;
        if (remaining_ == 0) {
          if (auto ok = OnFrameEnd(out); !ok) return ok;
        }
        break;
      }
    }
  }
  return {};
}

common::Result<void> Decoder::OnGreeting() {
  const auto byte = [&](std::size_t i) { return static_cast<std::uint8_t>(header_[i]); };
  if (byte(0) != 0xFF || (byte(9) & 1) != 1) return common::Fail("peer sent no ZMTP signature");
  if (byte(10) < 3) return common::Fail("peer speaks ZMTP older than 3.0");
  const std::string_view mechanism(header_.data() + 12, 20);
  if (mechanism.substr(0, kMechanism.size()) != kMechanism ||
      mechanism.find_first_not_of('\0', kMechanism.size()) != std::string_view::npos) {
    return common::Fail("peer wants a security mechanism other than NULL");
  }
  return {};
}

common::Result<void> Decoder::OnFrameHeader() {
  frame_.clear();
  if (flags_ & kCommand) {
    if (flags_ & kMore) return common::Fail("command frame has the MORE flag");
    if (!message_.empty() || skipping_) return common::Fail("command inside a message");
    if (remaining_ > limits_.max_command_bytes) return common::Fail("command too large");
    return {};
  }
  if (!handshake_done_) return common::Fail("message before the READY command");
  if (remaining_ >= kMaxDeclaredFrame) return common::Fail("frame size out of range");
  if (!skipping_ && (message_.size() >= limits_.max_frames ||
                     remaining_ > limits_.max_message_bytes - message_bytes_)) {
    skipping_ = true;
    message_ = {};  // releases the frames kept so far
  }
  if (!skipping_) {
    message_bytes_ += remaining_;
    // Reserve only what a small frame needs: a declared size proves nothing.
    frame_.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, 64 * 1024)));
  }
  return {};
}

common::Result<void> Decoder::OnFrameEnd(Output& out) {
  state_ = State::kFlags;
  if (flags_ & kCommand) {
    auto ok = OnCommand(frame_);
    frame_.clear();
    return ok;
  }
  if (!skipping_) message_.push_back(std::move(frame_));
  frame_ = {};
  if (flags_ & kMore) return {};
  if (skipping_) {
    ++out.dropped;
  } else {
    out.messages.push_back(std::move(message_));
  }
  message_ = {};
  message_bytes_ = 0;
  skipping_ = false;
  return {};
}

common::Result<void> Decoder::OnCommand(std::string_view body) {
  if (body.empty() || body.size() < 1u + static_cast<std::uint8_t>(body[0])) {
    return common::Fail("malformed command");
  }
  const std::string_view name = body.substr(1, static_cast<std::uint8_t>(body[0]));
  const std::string_view rest = body.substr(1 + name.size());
  if (handshake_done_) return {};  // e.g. PING: we ask for no heartbeats and need none
  if (name == "ERROR") {
    const std::size_t size = rest.empty() ? 0 : static_cast<std::uint8_t>(rest[0]);
    return common::Fail("peer refused the handshake: " +
                        std::string(rest.substr(rest.empty() ? 0 : 1, size)));
  }
  if (name != "READY") return common::Fail("expected READY, got another command");
  auto type = FindProperty(rest, "Socket-Type");
  if (!type) return std::unexpected(type.error());
  if (std::find(peer_types_.begin(), peer_types_.end(), *type) == peer_types_.end()) {
    return common::Fail("peer socket type '" + type->substr(0, 32) + "' does not match ours");
  }
  handshake_done_ = true;
  return {};
}

}  // namespace jupyter::zmtp
