#include "common/crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

namespace common {

Result<std::string> RandomHex(std::size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1) {
    return Fail("RAND_bytes failed");
  }
  return HexEncode(raw);
}

std::string HexEncode(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) {
    const auto u = static_cast<unsigned char>(c);
    out += kDigits[u >> 4];
    out += kDigits[u & 0xF];
  }
  return out;
}

// HMAC_CTX is deprecated in OpenSSL 3; EVP_MAC is what Debian 12 and 13 ship. A failure in
// here means a broken crypto library, and a wrong digest would silently reject (or worse,
// accept) messages, so it aborts.
namespace {

void Check(int ok, const char* call) {
  if (ok != 1) {
    std::fprintf(stderr, "fatal: OpenSSL %s failed\n", call);
    std::abort();
  }
}

EVP_MAC* HmacAlgorithm() {
  static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);  // fetched once, never freed
  Check(mac != nullptr, "EVP_MAC_fetch(HMAC)");
  return mac;
}

EVP_MAC_CTX* NewKeyedContext(std::string_view key) {
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(HmacAlgorithm());
  Check(ctx != nullptr, "EVP_MAC_CTX_new");
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", digest, 0),
                         OSSL_PARAM_construct_end()};
  Check(EVP_MAC_init(ctx, reinterpret_cast<const unsigned char*>(key.data()), key.size(), params),
        "EVP_MAC_init");
  return ctx;
}

}  // namespace

struct HmacKey::Context {
  EVP_MAC_CTX* ctx = nullptr;
};

HmacKey::HmacKey(std::string_view key) {
  if (!key.empty()) ctx_ = new Context{NewKeyedContext(key)};
}

HmacKey::~HmacKey() {
  if (ctx_ != nullptr) EVP_MAC_CTX_free(ctx_->ctx);
  delete ctx_;
}

HmacKey::HmacKey(HmacKey&& other) noexcept : ctx_(std::exchange(other.ctx_, nullptr)) {}

HmacKey& HmacKey::operator=(HmacKey&& other) noexcept {
  std::swap(ctx_, other.ctx_);
  return *this;
}

struct HmacSha256::Impl {
  EVP_MAC_CTX* ctx = nullptr;
};

HmacSha256::HmacSha256(std::string_view key) : impl_(new Impl{NewKeyedContext(key)}) {}

HmacSha256::HmacSha256(const HmacKey& key) : impl_(new Impl) {
  Check(key.ctx_ != nullptr, "HMAC with an empty key");
  impl_->ctx = EVP_MAC_CTX_dup(key.ctx_->ctx);  // the keyed state is copied, not redone
  Check(impl_->ctx != nullptr, "EVP_MAC_CTX_dup");
}

HmacSha256::~HmacSha256() {
  EVP_MAC_CTX_free(impl_->ctx);
  delete impl_;
}

void HmacSha256::Update(std::string_view data) {
  Check(
      EVP_MAC_update(impl_->ctx, reinterpret_cast<const unsigned char*>(data.data()), data.size()),
      "EVP_MAC_update");
}

std::string HmacSha256::FinishHex() {
  unsigned char out[EVP_MAX_MD_SIZE];
  std::size_t len = 0;
  Check(EVP_MAC_final(impl_->ctx, out, &len, sizeof out), "EVP_MAC_final");
  return HexEncode(std::string_view(reinterpret_cast<const char*>(out), len));
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool SecretEquals(std::string_view a, std::string_view b) {
  unsigned char da[SHA256_DIGEST_LENGTH];
  unsigned char db[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(a.data()), a.size(), da);
  SHA256(reinterpret_cast<const unsigned char*>(b.data()), b.size(), db);
  return CRYPTO_memcmp(da, db, sizeof da) == 0;
}

}  // namespace common
