// Small wrappers over OpenSSL: random tokens, HMAC-SHA256, constant-time comparison.
// Thread-safe (OpenSSL 3 needs no global locking).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "common/result.h"

namespace common {

// `bytes` random bytes from the OpenSSL CSPRNG, hex-encoded (2 * bytes characters).
Result<std::string> RandomHex(std::size_t bytes);

std::string HexEncode(std::string_view bytes);

// Incremental HMAC-SHA256; Finish() returns the lowercase hex digest (64 characters).
class HmacSha256 {
 public:
  explicit HmacSha256(std::string_view key);
  ~HmacSha256();
  HmacSha256(const HmacSha256&) = delete;
  HmacSha256& operator=(const HmacSha256&) = delete;
  void Update(std::string_view data);
  std::string FinishHex();

 private:
  struct Impl;
  Impl* impl_;
};

// Compares in time independent of where the contents differ. Different lengths compare
// unequal (the length itself is not secret for HMAC digests).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

// Compares secrets of possibly different lengths without leaking the length or the
// position of the first difference: both sides are hashed with SHA-256 first.
bool SecretEquals(std::string_view a, std::string_view b);

}  // namespace common
