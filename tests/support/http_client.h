// A minimal blocking HTTP/1.1 client for integration tests: one request per connection
// (Connection: close), plain POSIX sockets, no Beast, so tests compile fast.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace testing_support {

struct HttpReply {
  int status = 0;                              // 0 when the connection failed
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;

  nlohmann::json Json() const;  // the body parsed as JSON (discarded value on failure)
  // An /execute answer's result_text, or the whole body when it has none (for messages).
  std::string ResultText() const;
};

class HttpClient {
 public:
  HttpClient(int port, std::string token) : port_(port), token_(std::move(token)) {}

  HttpReply Get(const std::string& path, bool with_token = true) const;
  HttpReply Post(const std::string& path, const std::string& body, bool with_token = true) const;
  // POST /execute with {"user_uuid", "code", "timeout"?}.
  HttpReply Execute(const std::string& user, const std::string& code, double timeout = 0) const;
  HttpReply Release(const std::string& user) const;
  // Sends raw bytes and returns the raw reply (read until the server closes).
  std::string Raw(const std::string& bytes) const { return Exchange(bytes, true); }
  // Sends raw bytes without half-closing, then reads until the server closes.
  std::string RawWithoutShutdown(const std::string& bytes) const { return Exchange(bytes, false); }

  HttpReply Request(const std::string& method, const std::string& path, const std::string& body,
                    const std::map<std::string, std::string>& headers) const;

  const std::string& token() const { return token_; }

 private:
  std::string Exchange(const std::string& bytes, bool shutdown_write) const;

  int port_;
  std::string token_;
};

// Base64 decoding (OpenSSL); empty on invalid input.
std::string DecodeBase64(const std::string& text);

}  // namespace testing_support
