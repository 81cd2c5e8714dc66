// The framing of a presigned-POST upload (multipart/form-data, RFC 7578): everything but the
// file's bytes, so that the file streams between `head` and `tail` and Content-Length is
// known in advance. Pure; safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace fetch {

struct MultipartFrame {
  std::string content_type;  // "multipart/form-data; boundary=..."
  std::string head;          // the fields, in order, then the file part's headers
  std::string tail;          // "\r\n--boundary--\r\n"

  std::uint64_t ContentLength(std::uint64_t file_size) const {
    return head.size() + file_size + tail.size();
  }
};

// `boundary` should be random (a CSPRNG's hex): a field value that contains it is refused,
// the file's bytes cannot be checked and rely on its randomness. Field names may not hold
// '"', CR, LF or NUL; values may hold anything but the boundary. The file part is named "file"
// (what S3 and its kin expect, last); in `file_name` every '"', '\\' and control byte becomes
// '_'.
common::Result<MultipartFrame> BuildMultipartFrame(
    const std::vector<std::pair<std::string, std::string>>& fields, std::string_view file_name,
    const std::string& boundary);

}  // namespace fetch
