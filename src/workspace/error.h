// Errors of workspace operations, each with the HTTP status the gateway answers with.
//
// common::Error carries only a message, and the file routes need a status as well (issue 11,
// item 6), so this module returns FsResult<T> = std::expected<T, FsError>. ToCommon() turns an
// FsError into a common::Error where only the message matters. Pure; safe from any thread.
#pragma once

#include <expected>
#include <string>
#include <string_view>

#include "common/result.h"

namespace workspace {

enum class FsErrc {
  kBadPath,    // 400: the client's path is malformed (.., NUL, outside /sandbox, too long)
  kNotFound,   // 404: nothing at that path (or a parent is missing)
  kWrongType,  // 409: a directory where a file is needed, a file where a directory is, a
               //      fifo/socket where a regular file is needed, a non-empty directory
  kLink,       // 409: a symbolic link (or a mount point) where the path needs a real entry;
               //      never followed
  kDenied,     // 403: permission denied (rootless mode: the kernel made a directory unreadable)
  kTooDeep,    // 409: a tree deeper than the operation's depth limit
  kTooLarge,   // 413: more bytes than the writer's limit (or EFBIG)
  kNoSpace,    // 507: ENOSPC or EDQUOT: the workspace is full
  kIo,         // 500: anything else (EIO, EMFILE, a race lost too often, ...)
};

struct FsError {
  FsErrc code;
  std::string message;  // for the 400/404/409/... `detail`: says what and, for the client's
                        // path, where ("/sandbox/a/b.csv is a directory")
};

template <typename T = void>
using FsResult = std::expected<T, FsError>;

inline std::unexpected<FsError> FsFail(FsErrc code, std::string message) {
  return std::unexpected(FsError{code, std::move(message)});
}

// The status the gateway answers with for `code`: 400, 403, 404, 409, 413, 507 or 500.
int HttpStatus(FsErrc code);

// Maps an errno from a call on `what` (usually a display path) to an FsError:
// ENOENT -> kNotFound; ELOOP -> kLink; EXDEV -> kLink (a mount point or an escape);
// ENOTDIR, EISDIR, ENOTEMPTY, EEXIST, ENXIO -> kWrongType; EACCES, EPERM -> kDenied; ENOSPC, EDQUOT
// -> kNoSpace; EFBIG -> kTooLarge; ENAMETOOLONG -> kBadPath; others -> kIo with "<call>:
// <strerror>".
std::unexpected<FsError> ErrnoFsFail(std::string_view call, std::string_view what, int err);

inline common::Error ToCommon(const FsError& error) { return common::Error{error.message}; }

}  // namespace workspace
