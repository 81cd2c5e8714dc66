// A streamed response read as it arrives, for integration tests: sends one request, reads the
// head, then decodes the chunked body into NDJSON events (one JSON object per line) or raw
// bytes, each with the moment it was received. Plain POSIX sockets, like HttpClient.
#pragma once

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/unique_fd.h"

namespace testing_support {

class EventStream {
 public:
  using Clock = std::chrono::steady_clock;
  struct Event {
    nlohmann::json json;
    Clock::time_point received;
  };

  // Connects and sends `method path` with `headers` and `body` (JSON when not empty).
  EventStream(int port, const std::string& method, const std::string& path, const std::string& body,
              const std::map<std::string, std::string>& headers);

  int status() const { return status_; }  // 0: no head within 60 s
  const std::map<std::string, std::string>& headers() const { return headers_; }
  // The body of a response that is not chunked (an error), read to its Content-Length.
  const std::string& plain_body() const { return plain_; }

  // The next NDJSON line; nullopt when the response ended or `seconds` passed.
  std::optional<Event> Next(double seconds = 60);
  // Everything left of the body (until the last chunk or `seconds`), undecoded lines joined.
  std::string Rest(double seconds = 60);
  bool ended() const { return ended_; }
  // Hangs up.
  void Close() { fd_.Reset(); }

 private:
  bool Fill(double seconds);  // reads more raw bytes; false on EOF, error or timeout
  bool Decode();              // moves whole chunks from raw_ to body_

  common::UniqueFd fd_;
  int status_ = 0;
  std::map<std::string, std::string> headers_;
  std::string plain_;
  std::string raw_;   // undecoded bytes after the head
  std::string body_;  // decoded body not yet returned
  bool ended_ = false;
};

}  // namespace testing_support
