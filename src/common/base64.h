// Base64 (RFC 4648, standard alphabet, padded), over OpenSSL's codec. Pure, thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace common {

std::string Base64Encode(std::string_view bytes);
// The bytes, or nullopt when `text` is not base64 (whitespace is ignored).
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace common
