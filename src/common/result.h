// Result type shared by every module: std::expected with a human-readable error.
// Functions that can fail across a module boundary return Result<T>; exceptions from
// libraries are caught at the adapter and turned into an Error here.
#pragma once

#include <cerrno>
#include <expected>
#include <string>
#include <string_view>

namespace common {

struct Error {
  std::string message;
};

template <typename T = void>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> Fail(std::string message) {
  return std::unexpected(Error{std::move(message)});
}

// "<call>: <strerror(err)>", e.g. "prctl(PR_SET_PDEATHSIG): Operation not permitted".
std::unexpected<Error> ErrnoFail(std::string_view call, int err = errno);

}  // namespace common
