#include "gateway/multipart_reader.h"

#include <algorithm>
#include <cctype>

namespace gateway {
namespace {

constexpr std::string_view kCrlf = "\r\n";

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// One `key=value` or `key="quoted value"` parameter at the front of `s` (after its ';').
bool NextParam(std::string_view& s, std::string& key, std::string& value) {
  s = Trim(s);
  const std::size_t eq = s.find('=');
  if (eq == std::string_view::npos) return false;
  key = std::string(Trim(s.substr(0, eq)));
  s.remove_prefix(eq + 1);
  s = Trim(s);
  value.clear();
  if (!s.empty() && s.front() == '"') {
    std::size_t i = 1;
    // No backslash escapes: browsers send a file name's '"' as %22 and its '\\' as is
    // (HTML's form encoding), and old ones send Windows paths.
    for (; i < s.size() && s[i] != '"'; ++i) value += s[i];
    if (i >= s.size()) return false;  // unterminated
    s.remove_prefix(i + 1);
  } else {
    const std::size_t end = s.find(';');
    value = std::string(Trim(s.substr(0, end)));
    s.remove_prefix(end == std::string_view::npos ? s.size() : end);
  }
  s = Trim(s);
  if (!s.empty()) {
    if (s.front() != ';') return false;
    s.remove_prefix(1);
  }
  return true;
}

}  // namespace

common::Result<std::string> FormBoundary(std::string_view content_type) {
  const std::size_t semi = content_type.find(';');
  if (!IEquals(Trim(content_type.substr(0, semi)), "multipart/form-data"))
    return common::Fail("Content-Type must be multipart/form-data");
  if (semi == std::string_view::npos) return common::Fail("multipart/form-data without a boundary");
  std::string_view params = content_type.substr(semi + 1);
  std::string key, value;
  while (!params.empty()) {
    if (!NextParam(params, key, value)) break;
    if (!IEquals(key, "boundary")) continue;
    if (value.empty() || value.size() > 70 || value.back() == ' ')
      return common::Fail("the multipart boundary must have 1 to 70 characters");
    return value;
  }
  return common::Fail("multipart/form-data without a boundary");
}

MultipartReader::MultipartReader(std::string boundary, MultipartHandler& handler)
    : delimiter_("\r\n--" + boundary), handler_(handler), buffer_(kCrlf) {}
// (buffer_ starts with a CRLF so that a body beginning with "--boundary" needs no special case.)

common::Result<void> MultipartReader::Feed(std::string_view chunk) {
  if (state_ == State::kEpilogue) return {};
  buffer_.append(chunk);
  bool progressed = true;
  while (progressed) {
    progressed = false;
    if (auto stepped = Step(progressed); !stepped) return stepped;
  }
  return {};
}

common::Result<void> MultipartReader::Finish() {
  if (state_ != State::kEpilogue)
    return common::Fail("The multipart body ended before its closing boundary");
  return {};
}

common::Result<void> MultipartReader::Step(bool& progressed) {
  switch (state_) {
    case State::kPreamble: {
      const std::size_t at = buffer_.find(delimiter_);
      if (at == std::string::npos) {
        // Keep only what could be the start of the delimiter.
        if (buffer_.size() >= delimiter_.size())
          buffer_.erase(0, buffer_.size() - (delimiter_.size() - 1));
        return {};
      }
      buffer_.erase(0, at + delimiter_.size());
      state_ = State::kAfterDelimiter;
      progressed = true;
      return {};
    }
    case State::kAfterDelimiter: {
      std::size_t i = 0;  // transport padding (RFC 2046) before the CRLF
      while (i < buffer_.size() && (buffer_[i] == ' ' || buffer_[i] == '\t')) ++i;
      if (i > 256) return common::Fail("Malformed multipart body: padding after a boundary");
      if (buffer_.size() < i + 2) return {};
      if (buffer_.compare(i, 2, "--") == 0) {
        state_ = State::kEpilogue;
        buffer_.clear();
        return {};
      }
      if (buffer_.compare(i, 2, kCrlf) != 0)
        return common::Fail("Malformed multipart body: a boundary is not followed by CRLF");
      buffer_.erase(0, i + 2);
      if (++parts_ > kMaxParts)
        return common::Fail("The form has more than " + std::to_string(kMaxParts) + " parts");
      state_ = State::kHeaders;
      progressed = true;
      return {};
    }
    case State::kHeaders: {
      std::size_t end = 0;
      std::size_t skip = 0;
      if (buffer_.starts_with(kCrlf)) {
        skip = 2;  // no headers at all
      } else if (const std::size_t at = buffer_.find("\r\n\r\n"); at != std::string::npos) {
        end = at;
        skip = at + 4;
      } else {
        if (buffer_.size() > kMaxPartHeaderBytes)
          return common::Fail("A multipart part's headers exceed " +
                              std::to_string(kMaxPartHeaderBytes) + " bytes");
        return {};
      }
      if (end > kMaxPartHeaderBytes)
        return common::Fail("A multipart part's headers exceed " +
                            std::to_string(kMaxPartHeaderBytes) + " bytes");
      if (auto parsed = ParseHeaders(std::string_view(buffer_).substr(0, end)); !parsed)
        return parsed;
      buffer_.erase(0, skip);
      state_ = State::kData;
      progressed = true;
      return {};
    }
    case State::kData: {
      const std::size_t at = buffer_.find(delimiter_);
      if (at != std::string::npos) {
        if (at > 0) {
          if (auto r = handler_.OnPartData(std::string_view(buffer_).substr(0, at)); !r) return r;
        }
        if (auto r = handler_.OnPartEnd(); !r) return r;
        buffer_.erase(0, at + delimiter_.size());
        state_ = State::kAfterDelimiter;
        progressed = true;
        return {};
      }
      if (buffer_.size() < delimiter_.size()) return {};
      const std::size_t safe = buffer_.size() - (delimiter_.size() - 1);
      if (auto r = handler_.OnPartData(std::string_view(buffer_).substr(0, safe)); !r) return r;
      buffer_.erase(0, safe);
      return {};
    }
    case State::kEpilogue:
      buffer_.clear();
      return {};
  }
  return {};
}

common::Result<void> MultipartReader::ParseHeaders(std::string_view block) {
  PartHead head;
  bool disposition = false;
  while (!block.empty()) {
    const std::size_t eol = block.find(kCrlf);
    std::string_view line = block.substr(0, eol);
    block.remove_prefix(eol == std::string_view::npos ? block.size() : eol + 2);
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos)
      return common::Fail("Malformed multipart part header (no ':')");
    if (!IEquals(Trim(line.substr(0, colon)), "content-disposition")) continue;
    std::string_view value = Trim(line.substr(colon + 1));
    const std::size_t semi = value.find(';');
    if (!IEquals(Trim(value.substr(0, semi)), "form-data"))
      return common::Fail("A multipart part's Content-Disposition must be form-data");
    disposition = true;
    std::string_view params =
        semi == std::string_view::npos ? std::string_view() : value.substr(semi + 1);
    std::string key, param;
    while (!params.empty()) {
      if (!NextParam(params, key, param))
        return common::Fail("Malformed Content-Disposition in a multipart part");
      if (IEquals(key, "name")) head.name = param;
      if (IEquals(key, "filename")) head.filename = param;
    }
  }
  if (!disposition) return common::Fail("A multipart part has no Content-Disposition");
  return handler_.OnPartBegin(head);
}

}  // namespace gateway
