// A streaming reader of multipart/form-data bodies (RFC 7578) for POST /files/upload: the
// browser's way to upload files. Bytes go in as they arrive, in chunks of any size; parts
// come out as events, their contents in pieces, so a part of any size costs the reader only
// the chunk it was given plus the delimiter's length. Pure (no I/O) and fuzzed
// (fuzz/multipart_target.cc); one reader per body, used from one thread at a time.
//
// The body is "preamble --B CRLF headers CRLF CRLF data CRLF --B ... CRLF --B-- epilogue".
// Headers of a part are bounded (kMaxPartHeaderBytes); only Content-Disposition is read
// (`name` and `filename`, quoted or not). A body that ends before its closing delimiter, a
// part without a blank line after its headers, or more than kMaxParts parts is an error.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace gateway {

inline constexpr std::size_t kMaxPartHeaderBytes = 16u << 10;
inline constexpr std::size_t kMaxParts = 1000;

// The boundary of a `multipart/form-data; boundary=...` Content-Type (1..70 characters, RFC
// 2046), or an error for any other type.
common::Result<std::string> FormBoundary(std::string_view content_type);

struct PartHead {
  std::string name;                     // the form field's name
  std::optional<std::string> filename;  // set for a file part ("" when the browser sent none)
};

class MultipartHandler {
 public:
  virtual ~MultipartHandler() = default;
  // An error ends the body at once: Feed returns it.
  virtual common::Result<void> OnPartBegin(const PartHead& head) = 0;
  virtual common::Result<void> OnPartData(std::string_view bytes) = 0;
  virtual common::Result<void> OnPartEnd() = 0;
};

class MultipartReader {
 public:
  MultipartReader(std::string boundary, MultipartHandler& handler);

  // The next bytes of the body.
  common::Result<void> Feed(std::string_view chunk);
  // The body is complete: fails unless the closing delimiter was seen.
  common::Result<void> Finish();

 private:
  enum class State { kPreamble, kAfterDelimiter, kHeaders, kData, kEpilogue };
  common::Result<void> Step(bool& progressed);
  common::Result<void> ParseHeaders(std::string_view block);

  std::string delimiter_;  // "\r\n--" + boundary
  MultipartHandler& handler_;
  State state_ = State::kPreamble;
  std::string buffer_;  // bytes not yet consumed (bounded: see the header comment)
  std::size_t parts_ = 0;
};

}  // namespace gateway
