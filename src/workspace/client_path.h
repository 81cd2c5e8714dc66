// Client-supplied workspace paths: parsing, validation and display. Pure; safe from any thread.
//
// A client names a file in the query string (`path=`, already URL-decoded, so any byte but
// NUL can reach us) either absolute under /sandbox (`/sandbox`, `/sandbox/a/b.csv`) or
// relative to it (`a/b.csv`). ParseClientPath turns that into components beneath the
// workspace root or refuses it with a reason fit for a 400 `detail`:
//   - NUL bytes, input over kMaxInputBytes, a component over kMaxNameBytes bytes, a path
//     whose normalized relative form ("a/b.csv") is over kMaxPathBytes (so that the display
//     form "/sandbox/a/b.csv" of every accepted path is accepted as well, and the relative
//     form fits PATH_MAX with its NUL for openat2);
//   - any `..` component (even one that would stay inside: `/sandbox/a/../b`), because a
//     client has no business climbing and the check stays trivially correct;
//   - an absolute path whose first component is not `sandbox` (`/etc/passwd`, `/sandboxes`);
//   - the workspace root itself where a file is required (PathUse::kFile), and empty input.
// `.` components and repeated slashes collapse (`/sandbox//a/./b` is `a/b`). Relative paths
// are relative to /sandbox, so `sandbox/a` is /sandbox/sandbox/a.
//
// Names are bytes: a component may hold newlines, backslashes, invalid UTF-8, anything but
// '/' and NUL. How the gateway puts such names into JSON (the listing, the change list):
//   - a name or path that is valid UTF-8 goes verbatim (JSON escapes control characters);
//   - one that is not goes as JsonText(): ill-formed bytes replaced by U+FFFD (lossy, for
//     people), and the entry also carries `"encoded_path": PercentEncode(display path)`, the
//     exact bytes percent-encoded, which the client passes back as `path=` unchanged (a query
//     string is URL-decoded into bytes, so every name stays addressable).
// Error messages quote paths through common::Printable (control bytes as \xNN, valid UTF-8).
// The kernel can build longer paths than kMaxPathBytes one directory at a time: those are
// listed and reported in change lists, but a client cannot name them.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "workspace/error.h"

namespace workspace {

inline constexpr std::size_t kMaxInputBytes = 8192;  // the raw client string
inline constexpr std::size_t kMaxPathBytes = 4095;   // normalized, relative (PATH_MAX - 1)
inline constexpr std::size_t kMaxNameBytes = 255;    // one component (NAME_MAX)
inline constexpr std::string_view kSandboxRoot = "/sandbox";

// Components beneath the workspace root: each non-empty, without '/' or NUL, not "." or "..",
// at most kMaxNameBytes. Empty means the root itself.
using Components = std::vector<std::string>;

enum class PathUse {
  kFile,       // must name something below the root (upload, download, delete)
  kDirectory,  // the root is allowed; empty input means the root (list)
};

FsResult<Components> ParseClientPath(std::string_view raw, PathUse use);

// True when `name` could be a component ParseClientPath returns (used by the resolvers to
// refuse anything else, whatever the caller built).
bool IsValidComponent(std::string_view name);

// "/sandbox", "/sandbox/a/b.csv": the path as the kernel sees it.
std::string DisplayPath(std::span<const std::string> components);

// "a/b.csv": relative to the root, as the snapshot keys its entries ("" for the root).
std::string RelativePath(std::span<const std::string> components);

// The display path for an error message: printable, valid UTF-8, at most ~200 bytes.
std::string MessagePath(std::span<const std::string> components);

// JSON-safe text of a name or path: itself when valid UTF-8, else with U+FFFD replacements.
std::string JsonText(std::string_view bytes);

// Every byte outside RFC 3986's unreserved set and '/' as %XX (upper-case hex).
std::string PercentEncode(std::string_view bytes);

}  // namespace workspace
