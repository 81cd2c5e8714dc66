#include "common/result.h"

#include <cstring>

namespace common {

std::unexpected<Error> ErrnoFail(std::string_view call, int err) {
  std::string message(call);
  message += ": ";
  message += std::strerror(err);
  return std::unexpected(Error{std::move(message)});
}

}  // namespace common
