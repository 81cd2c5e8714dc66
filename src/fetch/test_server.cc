#include "fetch/test_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace fetch::testing {
namespace {

void Check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test PKI: ") + what);
}

struct Deleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, Deleter>;
using CertPtr = std::unique_ptr<X509, Deleter>;
using BioPtr = std::unique_ptr<BIO, Deleter>;

void AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  Check(ext != nullptr, "extension");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

CertPtr MakeCert(const std::string& cn, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key, bool ca,
                 const std::string& san) {
  static std::atomic<long> serial{1};
  CertPtr cert(X509_new());
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial++);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400);
  X509_set_pubkey(cert.get(), key);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(cert.get()), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509* signer = issuer != nullptr ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
  AddExtension(cert.get(), signer, NID_basic_constraints, ca ? "critical,CA:TRUE" : "CA:FALSE");
  AddExtension(cert.get(), signer, NID_key_usage,
               ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
  AddExtension(cert.get(), signer, NID_subject_key_identifier, "hash");
  if (!ca) AddExtension(cert.get(), signer, NID_ext_key_usage, "serverAuth");
  if (!san.empty()) AddExtension(cert.get(), signer, NID_subject_alt_name, san);
  Check(X509_sign(cert.get(), issuer_key != nullptr ? issuer_key : key, EVP_sha256()) > 0, "sign");
  return cert;
}

template <typename Write>
std::string Pem(Write write) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  Check(write(bio.get()) == 1, "PEM");
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size));
}

}  // namespace

struct TestCa::Impl {
  KeyPtr key;
  CertPtr cert;
};

TestCa::TestCa(const std::string& name) : impl_(std::make_unique<Impl>()) {
  impl_->key.reset(EVP_EC_gen("P-256"));
  Check(impl_->key != nullptr, "key");
  impl_->cert = MakeCert(name, impl_->key.get(), nullptr, nullptr, true, "");
  char path[] = "/tmp/fetch-test-ca-XXXXXX";
  const int fd = mkstemp(path);
  Check(fd >= 0, "mkstemp");
  close(fd);
  ca_file_ = path;
  std::ofstream(ca_file_) << Pem([&](BIO* b) { return PEM_write_bio_X509(b, impl_->cert.get()); });
}

TestCa::~TestCa() { unlink(ca_file_.c_str()); }

Credential TestCa::Issue(const std::vector<std::string>& dns,
                         const std::vector<std::string>& ips) const {
  KeyPtr key(EVP_EC_gen("P-256"));
  Check(key != nullptr, "key");
  std::string san;
  for (const auto& d : dns) san += (san.empty() ? "DNS:" : ",DNS:") + d;
  for (const auto& i : ips) san += (san.empty() ? "IP:" : ",IP:") + i;
  const auto cert = MakeCert(dns.empty() ? "leaf" : dns.front(), key.get(), impl_->cert.get(),
                             impl_->key.get(), false, san);
  return Credential{
      Pem([&](BIO* b) { return PEM_write_bio_X509(b, cert.get()); }),
      Pem([&](BIO* b) {
        return PEM_write_bio_PrivateKey(b, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
      }),
  };
}

Conn::~Conn() {
  if (ssl_ != nullptr) {
    if (fd_ >= 0) SSL_shutdown(ssl_);
    SSL_free(ssl_);
  }
  if (fd_ >= 0) close(fd_);
}

void Conn::CloseAbruptly() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

long Conn::Read(char* data, std::size_t size) {
  if (ssl_ != nullptr) return SSL_read(ssl_, data, static_cast<int>(size));
  return recv(fd_, data, size, 0);
}

bool Conn::Write(std::string_view bytes) {
  while (!bytes.empty()) {
    const long n = ssl_ != nullptr ? SSL_write(ssl_, bytes.data(), static_cast<int>(bytes.size()))
                                   : send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::optional<ReceivedRequest> Conn::ReadRequest() {
  char chunk[16384];
  std::size_t end;
  while ((end = pending_.find("\r\n\r\n")) == std::string::npos) {
    const long n = Read(chunk, sizeof(chunk));
    if (n <= 0) return std::nullopt;
    pending_.append(chunk, static_cast<std::size_t>(n));
  }
  ReceivedRequest request;
  const std::string head = pending_.substr(0, end);
  pending_.erase(0, end + 4);
  std::size_t line_end = head.find("\r\n");
  const std::string first = head.substr(0, line_end);
  const auto sp1 = first.find(' ');
  const auto sp2 = first.find(' ', sp1 + 1);
  request.method = first.substr(0, sp1);
  request.target = first.substr(sp1 + 1, sp2 - sp1 - 1);
  while (line_end != std::string::npos) {
    const auto start = line_end + 2;
    line_end = head.find("\r\n", start);
    const std::string line = head.substr(start, line_end - start);
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    auto value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    request.headers[name] = value;
  }
  const auto length_it = request.headers.find("content-length");
  const std::size_t length =
      length_it == request.headers.end() ? 0 : std::stoull(length_it->second);
  while (pending_.size() < length) {
    const long n = Read(chunk, sizeof(chunk));
    if (n <= 0) return std::nullopt;
    pending_.append(chunk, static_cast<std::size_t>(n));
  }
  request.body = pending_.substr(0, length);
  pending_.erase(0, length);
  return request;
}

TestServer::TestServer(Handler handler, std::optional<Credential> tls, const std::string& bind)
    : handler_(std::move(handler)) {
  if (tls) {
    ctx_ = SSL_CTX_new(TLS_server_method());
    BioPtr cert_bio(BIO_new_mem_buf(tls->cert_pem.data(), static_cast<int>(tls->cert_pem.size())));
    BioPtr key_bio(BIO_new_mem_buf(tls->key_pem.data(), static_cast<int>(tls->key_pem.size())));
    CertPtr cert(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
    KeyPtr key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
    Check(cert && key && SSL_CTX_use_certificate(ctx_, cert.get()) == 1 &&
              SSL_CTX_use_PrivateKey(ctx_, key.get()) == 1,
          "server credential");
  }
  const bool v6 = bind.find(':') != std::string::npos;
  listen_fd_ = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  Check(listen_fd_ >= 0, "socket");
  sockaddr_storage storage{};
  socklen_t length;
  if (v6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
    in6->sin6_family = AF_INET6;
    inet_pton(AF_INET6, bind.c_str(), &in6->sin6_addr);
    length = sizeof(sockaddr_in6);
  } else {
    auto* in = reinterpret_cast<sockaddr_in*>(&storage);
    in->sin_family = AF_INET;
    inet_pton(AF_INET, bind.c_str(), &in->sin_addr);
    length = sizeof(sockaddr_in);
  }
  Check(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&storage), length) == 0, "bind");
  Check(listen(listen_fd_, 16) == 0, "listen");
  Check(getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&storage), &length) == 0, "name");
  port_ = ntohs(v6 ? reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port
                   : reinterpret_cast<sockaddr_in*>(&storage)->sin_port);
  wake_fd_ = eventfd(0, EFD_CLOEXEC);
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

TestServer::~TestServer() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  const std::uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof(one));
  acceptor_.join();
  for (auto& t : connections_) t.join();
  close(listen_fd_);
  close(wake_fd_);
  if (ctx_ != nullptr) SSL_CTX_free(ctx_);
}

void TestServer::WaitForStop() {
  std::unique_lock lock(mu_);
  stop_cv_.wait(lock, [this] { return stopping_; });
}

void TestServer::AcceptLoop() {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) continue;
    if (fds[1].revents != 0) return;
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    ++accepted_;
    std::lock_guard lock(mu_);
    connections_.emplace_back([this, fd] { Serve(fd); });
  }
}

void TestServer::Serve(int fd) {
  SSL* ssl = nullptr;
  if (ctx_ != nullptr) {
    ssl = SSL_new(ctx_);
    SSL_set_fd(ssl, fd);
    if (SSL_accept(ssl) != 1) {  // e.g. the client refused our certificate
      SSL_free(ssl);
      close(fd);
      return;
    }
  }
  Conn conn(fd, ssl);
  if (ssl != nullptr) {
    const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    conn.sni = name != nullptr ? name : "";
  }
  handler_(conn);
}

std::string Response(int status, std::string_view body,
                     const std::vector<std::string>& extra_headers) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " Status\r\n";
  bool has_length = false;
  for (const auto& h : extra_headers) {
    out += h + "\r\n";
    if (h.starts_with("Content-Length") || h.starts_with("Transfer-Encoding")) has_length = true;
  }
  if (!has_length) out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  out += "Connection: close\r\n\r\n";
  out += body;
  return out;
}

}  // namespace fetch::testing
