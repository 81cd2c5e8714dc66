#include "support/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>

#include "common/unique_fd.h"

namespace testing_support {
namespace {

common::UniqueFd Connect(int port) {
  common::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.Get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return {};
  const int one = 1;
  ::setsockopt(fd.Get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

HttpReply Parse(const std::string& raw) {
  HttpReply reply;
  const auto head_end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.1 ", 0) != 0 || head_end == std::string::npos) return reply;
  reply.status = std::stoi(raw.substr(9, 3));
  std::size_t pos = raw.find("\r\n") + 2;
  while (pos < head_end) {
    const auto eol = raw.find("\r\n", pos);
    const std::string line = raw.substr(pos, eol - pos);
    const auto colon = line.find(':');
    if (colon != std::string::npos) {
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      reply.headers[Lower(line.substr(0, colon))] = value;
    }
    pos = eol + 2;
  }
  reply.body = raw.substr(head_end + 4);
  return reply;
}

}  // namespace

nlohmann::json HttpReply::Json() const { return nlohmann::json::parse(body, nullptr, false); }

std::string HttpReply::ResultText() const {
  const auto j = Json();
  return j.is_object() && j.contains("result_text") && j["result_text"].is_string()
             ? j["result_text"].get<std::string>()
             : body;
}

std::string HttpClient::Exchange(const std::string& bytes, bool shutdown_write) const {
  common::UniqueFd fd = Connect(port_);
  if (!fd.Valid()) return {};
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd.Get(), bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may answer (413) and close before reading everything
    sent += static_cast<std::size_t>(n);
  }
  if (shutdown_write) ::shutdown(fd.Get(), SHUT_WR);
  std::string raw;
  char buf[65536];
  while (true) {
    const ssize_t n = ::recv(fd.Get(), buf, sizeof buf, 0);
    if (n <= 0) break;
    raw.append(buf, static_cast<std::size_t>(n));
  }
  return raw;
}

HttpReply HttpClient::Request(const std::string& method, const std::string& path,
                              const std::string& body,
                              const std::map<std::string, std::string>& headers) const {
  std::string request =
      method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  for (const auto& [name, value] : headers) request += name + ": " + value + "\r\n";
  if (method == "POST") {
    request +=
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  } else if (method == "PUT" || !body.empty()) {
    request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  request += "\r\n" + body;
  // No half-close: the gateway takes a client that closes its side while waiting for the
  // answer as gone, and abandons (interrupts) the execution.
  return Parse(RawWithoutShutdown(request));
}

HttpReply HttpClient::Get(const std::string& path, bool with_token) const {
  return Request("GET", path, "",
                 with_token ? std::map<std::string, std::string>{{"X-Auth-Token", token_}}
                            : std::map<std::string, std::string>{});
}

HttpReply HttpClient::Post(const std::string& path, const std::string& body,
                           bool with_token) const {
  return Request("POST", path, body,
                 with_token ? std::map<std::string, std::string>{{"X-Auth-Token", token_}}
                            : std::map<std::string, std::string>{});
}

HttpReply HttpClient::Execute(const std::string& user, const std::string& code,
                              double timeout) const {
  nlohmann::json body = {{"user_uuid", user}, {"code", code}};
  if (timeout > 0) body["timeout"] = timeout;
  return Post("/execute", body.dump());
}

HttpReply HttpClient::Release(const std::string& user) const {
  return Post("/release", nlohmann::json{{"user_uuid", user}}.dump());
}

std::string DecodeBase64(const std::string& text) {
  std::string out(text.size() / 4 * 3 + 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) return {};
  std::size_t size = static_cast<std::size_t>(n);
  // EVP_DecodeBlock counts padding as zero bytes.
  if (!text.empty() && text.back() == '=') --size;
  if (text.size() > 1 && text[text.size() - 2] == '=') --size;
  out.resize(size);
  return out;
}

}  // namespace testing_support
