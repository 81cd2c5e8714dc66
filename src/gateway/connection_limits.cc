#include "gateway/connection_limits.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

namespace gateway {

std::string AddressKey(std::string_view address) {
  const std::string text(address);
  std::array<unsigned char, 16> bytes{};
  if (::inet_pton(AF_INET, text.c_str(), bytes.data()) == 1) return text;
  if (::inet_pton(AF_INET6, text.c_str(), bytes.data()) != 1) return text;
  char out[INET6_ADDRSTRLEN] = {};
  constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(bytes.data(), kMapped, sizeof kMapped) == 0) {
    ::inet_ntop(AF_INET, bytes.data() + 12, out, sizeof out);
    return out;
  }
  std::fill(bytes.begin() + 8, bytes.end(), 0);
  ::inet_ntop(AF_INET6, bytes.data(), out, sizeof out);
  return std::string(out) + "/64";
}

ConnectionLimits::Verdict ConnectionLimits::Check(const std::string& key) const {
  if (config_.max_per_address > 0 && From(key) >= config_.max_per_address)
    return Verdict::kAddressFull;
  if (total_ >= config_.max_total) return Verdict::kTotalFull;
  return Verdict::kAdmit;
}

void ConnectionLimits::Add(const std::string& key) {
  ++total_;
  ++per_key_[key];
}

void ConnectionLimits::Remove(const std::string& key) {
  const auto it = per_key_.find(key);
  if (it == per_key_.end()) return;
  --total_;
  if (--it->second == 0) per_key_.erase(it);
}

std::size_t ConnectionLimits::From(const std::string& key) const {
  const auto it = per_key_.find(key);
  return it == per_key_.end() ? 0 : it->second;
}

AcceptBackoff::Wait AcceptBackoff::Failed() {
  const bool starts = failures_++ == 0;
  next_ = starts ? first_ : std::min(most_, next_ + next_ / 2);
  return {next_, starts};
}

std::size_t AcceptBackoff::Succeeded() {
  const std::size_t failures = failures_;
  failures_ = 0;
  return failures;
}

bool RetryAcceptAtOnce(int error) {
  switch (error) {
    case ECONNABORTED:
    case EPROTO:
    case EINTR:
    case EAGAIN:
    case EPERM:  // a firewall rule refused this connection
    case ENETDOWN:
    case ENOPROTOOPT:
    case EHOSTDOWN:
    case ENONET:
    case EHOSTUNREACH:
    case EOPNOTSUPP:
    case ENETUNREACH:
      return true;
    default:
      return false;
  }
}

}  // namespace gateway
