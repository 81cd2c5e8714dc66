#include "fetch/resolver.h"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>

namespace fetch {
namespace {

struct Lookup {
  std::mutex mu;
  std::condition_variable done_cv;
  bool done = false;                 // guarded by mu
  int status = 0;                    // guarded by mu: getaddrinfo's return value
  std::vector<IpAddress> addresses;  // guarded by mu
};

std::vector<IpAddress> Collect(const addrinfo* list) {
  std::vector<IpAddress> addresses;
  for (const addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
    IpAddress address;
    if (ai->ai_family == AF_INET && ai->ai_addrlen >= sizeof(sockaddr_in)) {
      const auto* in = reinterpret_cast<const sockaddr_in*>(ai->ai_addr);
      std::memcpy(address.bytes.data(), &in->sin_addr, 4);
    } else if (ai->ai_family == AF_INET6 && ai->ai_addrlen >= sizeof(sockaddr_in6)) {
      const auto* in6 = reinterpret_cast<const sockaddr_in6*>(ai->ai_addr);
      address.v6 = true;
      std::memcpy(address.bytes.data(), &in6->sin6_addr, 16);
    } else {
      continue;
    }
    if (std::ranges::find(addresses, address) == addresses.end()) addresses.push_back(address);
  }
  return addresses;
}

void Run(const std::shared_ptr<Lookup>& lookup, const std::string& host) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  const int status = getaddrinfo(host.c_str(), nullptr, &hints, &list);
  auto addresses = status == 0 ? Collect(list) : std::vector<IpAddress>();
  if (list != nullptr) freeaddrinfo(list);
  std::lock_guard lock(lookup->mu);
  lookup->status = status;
  lookup->addresses = std::move(addresses);
  lookup->done = true;
  lookup->done_cv.notify_all();
}

}  // namespace

FetchResult<std::vector<IpAddress>> ResolveOnce(const std::string& host,
                                                std::chrono::steady_clock::time_point deadline) {
  auto lookup = std::make_shared<Lookup>();
  try {
    std::thread([lookup, host] { Run(lookup, host); }).detach();
  } catch (const std::system_error& e) {
    return std::unexpected(
        FetchError{ErrorKind::kResolve, "cannot resolve " + host + ": " + e.what()});
  }
  std::unique_lock lock(lookup->mu);
  if (!lookup->done_cv.wait_until(lock, deadline, [&] { return lookup->done; }))
    return std::unexpected(FetchError{ErrorKind::kTimeout, host + " did not resolve in time"});
  if (lookup->status != 0) {
    return std::unexpected(FetchError{
        ErrorKind::kResolve, "cannot resolve " + host + ": " + gai_strerror(lookup->status)});
  }
  if (lookup->addresses.empty())
    return std::unexpected(FetchError{ErrorKind::kResolve, host + " has no IP address"});
  return std::move(lookup->addresses);
}

}  // namespace fetch
