#include "common/base64.h"

#include <openssl/evp.h>

#include <cctype>

namespace common {

std::string Base64Encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  std::string compact;
  compact.reserve(text.size());
  for (const char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) continue;
    const bool alphabet = std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/';
    if (!alphabet && c != '=') return std::nullopt;
    compact += c;
  }
  if (compact.size() % 4 != 0) return std::nullopt;
  const std::size_t padding = compact.ends_with("==") ? 2 : compact.ends_with("=") ? 1 : 0;
  if (compact.find('=') < compact.size() - padding) return std::nullopt;  // '=' inside
  std::string out(compact.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(compact.data()),
                                static_cast<int>(compact.size()));
  if (n < 0) return std::nullopt;
  out.resize(static_cast<std::size_t>(n) - padding);  // the codec counts padding as zero bytes
  return out;
}

}  // namespace common
