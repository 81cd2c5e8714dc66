// Connection budgets of the HTTP listener, as policy without sockets: how many connections may
// be open in total and per client address (ConnectionLimits), and how the accept loop waits
// when the process runs out of descriptors (AcceptBackoff). http_server.cc does the I/O.
// Not thread-safe: the io thread owns both.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>

namespace gateway {

struct ConnectionLimitsConfig {
  std::size_t max_total = 1024;      // open connections, all clients together
  std::size_t max_per_address = 64;  // per AddressKey; 0: no per-address limit
};

// The key that per-address limits count by: an IPv4 address as it is (an IPv4-mapped IPv6
// address as its IPv4 address), any other IPv6 address by its /64 prefix ("2001:db8::/64"),
// since one host usually holds a whole /64. Text that is no address is its own key.
std::string AddressKey(std::string_view address);

class ConnectionLimits {
 public:
  enum class Verdict {
    kAdmit,        // room for one more
    kTotalFull,    // max_total connections are open
    kAddressFull,  // max_per_address connections from this key are open
  };

  explicit ConnectionLimits(ConnectionLimitsConfig config) : config_(config) {}

  // Whether one more connection from `key` fits; counts nothing. The per-address limit is
  // checked first: a client over its own share is refused even if the total has room.
  Verdict Check(const std::string& key) const;
  // Counts an open connection from `key` (after kAdmit, or after making room).
  void Add(const std::string& key);
  // Uncounts one connection Add counted; every Add is matched by exactly one Remove.
  void Remove(const std::string& key);

  std::size_t Total() const { return total_; }
  std::size_t From(const std::string& key) const;
  const ConnectionLimitsConfig& config() const { return config_; }

 private:
  ConnectionLimitsConfig config_;
  std::size_t total_ = 0;
  std::unordered_map<std::string, std::size_t> per_key_;  // only keys with connections
};

// Back-off of the accept loop after a failure that retrying at once cannot fix (EMFILE,
// ENFILE, ENOBUFS, ENOMEM: the pending connection stays queued and the next accept fails
// the same way, so retrying at once spins). A run of failures up to the next successful accept is
// one episode: the first failure of an episode is the one to log, the success that ends it reports
// how many there were.
class AcceptBackoff {
 public:
  using Duration = std::chrono::milliseconds;

  AcceptBackoff(Duration first = Duration(100), Duration most = Duration(1000))
      : first_(first), most_(most) {}

  struct Wait {
    Duration delay;       // before the next accept
    bool starts_episode;  // the first failure since the last success
  };
  // A failed accept: the delay grows by half each time, from `first` up to `most`.
  Wait Failed();
  // A successful accept: the number of failures of the episode it ends (0 when none).
  std::size_t Succeeded();

 private:
  Duration first_;
  Duration most_;
  Duration next_{0};
  std::size_t failures_ = 0;
};

// Whether accept may be retried at once after failing with `error`: the error concerned the one
// connection being accepted (aborted before accept, or one of the network errors accept(2)
// passes on). Anything else (EMFILE, ENFILE, ENOBUFS, ENOMEM, or an error nobody expects)
// would fail again at once, so the loop backs off.
bool RetryAcceptAtOnce(int error);

}  // namespace gateway
