// Test-only: loopback HTTP(S) servers that a test scripts byte by byte, and a throwaway PKI
// (a CA and leaf certificates made with OpenSSL at test time). Not part of ci_fetch.
//
// A TestServer accepts on 127.0.0.1 (or ::1) on a port of its own and runs `handler` on a
// thread per connection; the handler reads the request and writes whatever the test wants,
// including lies and stalls. Handlers that stall call WaitForStop(), which returns when the
// server is being destroyed, so nothing sleeps.
#pragma once

#include <openssl/ssl.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace fetch::testing {

struct Credential {
  std::string cert_pem;
  std::string key_pem;
};

// A CA that signs leaves; its certificate is written to ca_file for Config::ca_file.
class TestCa {
 public:
  explicit TestCa(const std::string& name);
  ~TestCa();
  // A leaf for these DNS names and IP addresses (subjectAltName).
  Credential Issue(const std::vector<std::string>& dns, const std::vector<std::string>& ips) const;
  const std::string& ca_file() const { return ca_file_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string ca_file_;
};

struct ReceivedRequest {
  std::string method, target;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
};

class Conn {
 public:
  Conn(int fd, SSL* ssl) : fd_(fd), ssl_(ssl) {}
  ~Conn();
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  // The head, then a body of Content-Length bytes (read fully); nullopt on EOF or error.
  std::optional<ReceivedRequest> ReadRequest();
  bool Write(std::string_view bytes);
  // Closes without TLS close_notify (a truncating attacker); the default close sends it.
  void CloseAbruptly();
  std::string sni;  // the server name the client sent (TLS only)

 private:
  long Read(char* data, std::size_t size);
  int fd_;
  SSL* ssl_;
  std::string pending_;
};

using Handler = std::function<void(Conn&)>;

class TestServer {
 public:
  // `tls` set: TLS with that credential. `bind`: "127.0.0.1" or "::1".
  explicit TestServer(Handler handler, std::optional<Credential> tls = std::nullopt,
                      const std::string& bind = "127.0.0.1");
  ~TestServer();

  std::uint16_t port() const { return port_; }
  int accepted() const { return accepted_.load(); }
  // Blocks the calling handler until the server is being destroyed.
  void WaitForStop();

 private:
  void AcceptLoop();
  void Serve(int fd);

  Handler handler_;
  SSL_CTX* ctx_ = nullptr;
  int listen_fd_ = -1;
  int wake_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<int> accepted_{0};
  std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;                 // guarded by mu_
  std::vector<std::thread> connections_;  // guarded by mu_
  std::thread acceptor_;
};

// Common handlers.
std::string Response(int status, std::string_view body,
                     const std::vector<std::string>& extra_headers = {});

}  // namespace fetch::testing
