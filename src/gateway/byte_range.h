// The Range header of a download (RFC 9110, section 14): one byte range, pure.
// "bytes=a-b", "bytes=a-" and "bytes=-n" are served; several ranges, other units and
// malformed values are ignored (the whole file, 200), as the RFC allows; a range that starts
// past the end is unsatisfiable (416).
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace gateway {

struct ByteRange {
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

struct RangeChoice {
  std::optional<ByteRange> range;  // nullopt: the whole file
  bool unsatisfiable = false;      // answer 416 with "Content-Range: bytes */size"
};

RangeChoice ChooseRange(std::optional<std::string_view> header, std::uint64_t size);

}  // namespace gateway
