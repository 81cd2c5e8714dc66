#include "support/event_stream.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cctype>

namespace testing_support {
namespace {

std::string Lower(std::string s) {
  std::ranges::transform(s, s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

}  // namespace

EventStream::EventStream(int port, const std::string& method, const std::string& path,
                         const std::string& body,
                         const std::map<std::string, std::string>& headers) {
  fd_ = common::UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_.Get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return;
  const int one = 1;
  ::setsockopt(fd_.Get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  std::string request = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (const auto& [name, value] : headers) request += name + ": " + value + "\r\n";
  if (!body.empty()) {
    request +=
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  request += "\r\n" + body;
  if (::send(fd_.Get(), request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    return;
  }
  std::size_t head_end;
  while ((head_end = raw_.find("\r\n\r\n")) == std::string::npos) {
    if (!Fill(60)) return;
  }
  const std::string head = raw_.substr(0, head_end);
  raw_.erase(0, head_end + 4);
  if (!head.starts_with("HTTP/1.1 ")) return;
  for (std::size_t pos = head.find("\r\n"); pos != std::string::npos;) {
    const std::size_t start = pos + 2;
    pos = head.find("\r\n", start);
    const std::string line = head.substr(start, pos == std::string::npos ? pos : pos - start);
    const std::size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    headers_[Lower(line.substr(0, colon))] = value;
  }
  status_ = std::stoi(head.substr(9, 3));
  if (headers_["transfer-encoding"] != "chunked") {
    const std::size_t length = std::stoul(
        headers_["content-length"].empty() ? std::string("0") : headers_["content-length"]);
    while (raw_.size() < length && Fill(60)) {
    }
    plain_ = raw_.substr(0, length);
    ended_ = true;
  }
}

bool EventStream::Fill(double seconds) {
  if (!fd_.Valid()) return false;
  pollfd p{.fd = fd_.Get(), .events = POLLIN, .revents = 0};
  if (::poll(&p, 1, static_cast<int>(seconds * 1000)) <= 0) return false;
  char buf[65536];
  const ssize_t n = ::recv(fd_.Get(), buf, sizeof buf, 0);
  if (n <= 0) return false;
  raw_.append(buf, static_cast<std::size_t>(n));
  return true;
}

bool EventStream::Decode() {
  bool any = false;
  while (!ended_) {
    const std::size_t eol = raw_.find("\r\n");
    if (eol == std::string::npos) break;
    const std::size_t size = std::stoul(raw_.substr(0, eol), nullptr, 16);
    if (size == 0) {
      ended_ = true;
      break;
    }
    if (raw_.size() < eol + 2 + size + 2) break;
    body_.append(raw_, eol + 2, size);
    raw_.erase(0, eol + 2 + size + 2);
    any = true;
  }
  return any;
}

std::optional<EventStream::Event> EventStream::Next(double seconds) {
  const auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
  while (true) {
    if (const std::size_t eol = body_.find('\n'); eol != std::string::npos) {
      Event event{.json = nlohmann::json::parse(body_.substr(0, eol), nullptr, false),
                  .received = Clock::now()};
      body_.erase(0, eol + 1);
      return event;
    }
    if (ended_) return std::nullopt;
    if (Decode() || ended_) continue;
    const double left = std::chrono::duration<double>(deadline - Clock::now()).count();
    if (left <= 0 || !Fill(left)) return std::nullopt;
  }
}

std::string EventStream::Rest(double seconds) {
  const auto deadline = Clock::now() + std::chrono::duration<double>(seconds);
  while (!ended_) {
    if (Decode() || ended_) continue;
    const double left = std::chrono::duration<double>(deadline - Clock::now()).count();
    if (left <= 0 || !Fill(left)) break;
  }
  std::string out;
  out.swap(body_);
  return out;
}

}  // namespace testing_support
