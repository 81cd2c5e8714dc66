#include "workspace/error.h"

#include <cerrno>
#include <cstring>

namespace workspace {

int HttpStatus(FsErrc code) {
  switch (code) {
    case FsErrc::kBadPath:
      return 400;
    case FsErrc::kDenied:
      return 403;
    case FsErrc::kNotFound:
      return 404;
    case FsErrc::kWrongType:
    case FsErrc::kLink:
    case FsErrc::kTooDeep:
      return 409;
    case FsErrc::kTooLarge:
      return 413;
    case FsErrc::kNoSpace:
      return 507;
    case FsErrc::kIo:
      break;
  }
  return 500;
}

std::unexpected<FsError> ErrnoFsFail(std::string_view call, std::string_view what, int err) {
  const std::string subject(what);
  switch (err) {
    case ENOENT:
      return FsFail(FsErrc::kNotFound, subject + ": no such file or directory");
    case ELOOP:
      return FsFail(FsErrc::kLink, subject + ": a symbolic link is in the way (never followed)");
    case EXDEV:
      return FsFail(FsErrc::kLink, subject + ": crosses a mount point or leaves the workspace");
    case ENOTDIR:
      return FsFail(FsErrc::kWrongType, subject + ": a component is not a directory");
    case EISDIR:
      return FsFail(FsErrc::kWrongType, subject + " is a directory");
    case ENOTEMPTY:
      return FsFail(FsErrc::kWrongType, subject + " is a directory that is not empty");
    case EEXIST:
      return FsFail(FsErrc::kWrongType, subject + " already exists");
    case ENXIO:
      return FsFail(FsErrc::kWrongType, subject + " is not a regular file");
    case EACCES:
    case EPERM:
      return FsFail(FsErrc::kDenied, subject + ": permission denied");
    case ENOSPC:
    case EDQUOT:
      return FsFail(FsErrc::kNoSpace, subject + ": the workspace is full");
    case EFBIG:
      return FsFail(FsErrc::kTooLarge, subject + ": file too large");
    case ENAMETOOLONG:
      return FsFail(FsErrc::kBadPath, subject + ": name too long");
    default:
      break;
  }
  std::string message = subject + ": " + std::string(call) + ": " + std::strerror(err);
  return FsFail(FsErrc::kIo, std::move(message));
}

}  // namespace workspace
