// The workspace's client path parser (src/workspace/client_path.h) on a `path=` value as it
// arrives URL-decoded from the query string. Oracles: a refusal is kBadPath (400) with a
// valid UTF-8 message; an accepted path has only valid components (no "..", NUL, "/", ".",
// empty, none over 255 bytes), is non-empty where a file is required, parses back to itself
// from its display and relative forms, and resolves beneath an empty directory to "not
// found" (or the directory itself) and never to anything else; the JSON and percent
// encodings of it are valid UTF-8 and decode back to the bytes.

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <string>
#include <string_view>

#include "common/text.h"
#include "fuzz/check.h"
#include "fuzz/targets.h"
#include "workspace/beneath.h"
#include "workspace/client_path.h"

namespace fuzz {
namespace {

using workspace::Components;
using workspace::FsErrc;
using workspace::PathUse;

// An empty directory, opened as the gateway opens a workspace; removed at exit.
struct EmptyRoot {
  EmptyRoot() {
    if (mkdtemp(path) != nullptr) fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  }
  ~EmptyRoot() {
    if (fd >= 0) close(fd);
    rmdir(path);
  }
  char path[32] = "/tmp/ci-fuzz-workspace-XXXXXX";
  int fd = -1;
};

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    FUZZ_CHECK(i + 2 < s.size() && HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0,
               "PercentEncode wrote a malformed escape");
    out += static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2]));
    i += 2;
  }
  return out;
}

void CheckAccepted(std::string_view input, const Components& components, PathUse use) {
  FUZZ_CHECK(input.size() <= workspace::kMaxInputBytes, "accepted an over-long input");
  FUZZ_CHECK(workspace::RelativePath(components).size() <= workspace::kMaxPathBytes,
             "accepted an over-long path");
  FUZZ_CHECK(input.find('\0') == std::string_view::npos, "accepted a NUL byte");
  FUZZ_CHECK(use == PathUse::kDirectory || !components.empty(), "a file path names the root");
  for (const std::string& name : components) {
    FUZZ_CHECK(workspace::IsValidComponent(name), "accepted an invalid component");
  }
  for (const std::string& form :
       {workspace::DisplayPath(components), workspace::RelativePath(components)}) {
    if (form.empty()) continue;
    auto again = workspace::ParseClientPath(form, use);
    FUZZ_CHECK(again.has_value() && *again == components, "display/relative form parses apart");
  }
  const std::string display = workspace::DisplayPath(components);
  FUZZ_CHECK(common::IsValidUtf8(workspace::JsonText(display)), "JsonText is not UTF-8");
  FUZZ_CHECK(common::IsValidUtf8(workspace::MessagePath(components)), "MessagePath not UTF-8");
  const std::string encoded = workspace::PercentEncode(display);
  FUZZ_CHECK(common::IsValidUtf8(encoded), "PercentEncode is not ASCII");
  FUZZ_CHECK(PercentDecode(encoded) == display, "PercentEncode does not round-trip");

  static EmptyRoot root;
  if (root.fd < 0) return;
  auto opened = workspace::OpenBeneath(root.fd, components, O_PATH, "fuzz");
  if (components.empty()) {
    FUZZ_CHECK(opened.has_value(), "the root did not open");
  } else {
    FUZZ_CHECK(!opened.has_value(), "something opened beneath an empty directory");
    FUZZ_CHECK(opened.error().code == FsErrc::kNotFound || opened.error().code == FsErrc::kBadPath,
               opened.error().message.c_str());
  }
}

}  // namespace

void FuzzWorkspacePath(std::string_view input) {
  for (const PathUse use : {PathUse::kFile, PathUse::kDirectory}) {
    auto parsed = workspace::ParseClientPath(input, use);
    if (parsed.has_value()) {
      CheckAccepted(input, *parsed, use);
      continue;
    }
    FUZZ_CHECK(parsed.error().code == FsErrc::kBadPath, "a refusal is not kBadPath");
    FUZZ_CHECK(workspace::HttpStatus(parsed.error().code) == 400, "a refusal is not a 400");
    FUZZ_CHECK(common::IsValidUtf8(parsed.error().message), "the 400 detail is not UTF-8");
  }
}

}  // namespace fuzz
