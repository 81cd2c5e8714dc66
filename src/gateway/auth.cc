#include "gateway/auth.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "common/crypto.h"
#include "common/unique_fd.h"

namespace gateway {
namespace {

std::string Trim(std::string s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  const auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

common::Result<std::string> Checked(std::string token, const std::string& origin) {
  token = Trim(std::move(token));
  if (token.size() < 16)
    return common::Fail("the token from " + origin + " is shorter than 16 characters");
  return token;
}

common::Result<std::string> ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return common::ErrnoFail("open(" + path.string() + ")");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

common::Result<std::string> CreateTokenFile(const std::filesystem::path& path) {
  auto token = common::RandomHex(32);
  if (!token) return token;
  // O_EXCL: when two starts race, one creates and the other reads what was created.
  common::UniqueFd fd(
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.Valid()) {
    if (errno == EEXIST) return ReadFile(path);
    return common::ErrnoFail("open(" + path.string() + ")");
  }
  const std::string line = *token + "\n";
  if (::write(fd.Get(), line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    const int err = errno;
    ::unlink(path.c_str());  // a partial token would make every later start fail
    return common::ErrnoFail("write(" + path.string() + ")", err);
  }
  return token;
}

}  // namespace

common::Result<std::string> LoadOrCreateToken(const TokenSource& source) {
  if (source.from_env) return Checked(*source.from_env, "CODE_INTERPRETER_TOKEN");
  if (source.token_file) {
    auto text = ReadFile(*source.token_file);
    if (!text) return text;
    return Checked(std::move(*text), source.token_file->string());
  }
  std::error_code ec;
  std::filesystem::create_directories(source.state_dir, ec);
  if (ec)
    return common::Fail("cannot create state dir " + source.state_dir.string() + ": " +
                        ec.message());
  ::chmod(source.state_dir.c_str(), 0700);
  const auto path = source.state_dir / kTokenFileName;
  auto text = std::filesystem::exists(path) ? ReadFile(path) : CreateTokenFile(path);
  if (!text) return text;
  return Checked(std::move(*text), path.string());
}

}  // namespace gateway
