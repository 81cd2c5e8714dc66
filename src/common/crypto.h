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

// An HMAC-SHA256 key set up once (digest fetched, key padded): a HmacSha256 made from it
// starts from a copy, several times cheaper than setting the key up again for every
// message. An empty key is kept as such (unsigned mode for the Jupyter wire); a HmacSha256
// cannot be made from it. Immutable after construction, so usable from any thread.
class HmacKey {
 public:
  explicit HmacKey(std::string_view key);
  ~HmacKey();
  HmacKey(HmacKey&& other) noexcept;
  HmacKey& operator=(HmacKey&& other) noexcept;
  HmacKey(const HmacKey&) = delete;
  HmacKey& operator=(const HmacKey&) = delete;
  bool empty() const { return ctx_ == nullptr; }

 private:
  friend class HmacSha256;
  struct Context;
  Context* ctx_ = nullptr;
};

// Incremental HMAC-SHA256; Finish() returns the lowercase hex digest (64 characters).
class HmacSha256 {
 public:
  explicit HmacSha256(std::string_view key);
  explicit HmacSha256(const HmacKey& key);  // key must not be empty
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
