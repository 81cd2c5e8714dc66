#include "workspace/client_path.h"

#include "common/text.h"

namespace workspace {
namespace {

std::unexpected<FsError> BadPath(std::string_view raw, std::string_view why) {
  return FsFail(FsErrc::kBadPath,
                "invalid path \"" + common::Printable(raw, 200) + "\": " + std::string(why));
}

}  // namespace

FsResult<Components> ParseClientPath(std::string_view raw, PathUse use) {
  if (raw.empty() && use == PathUse::kFile) return BadPath(raw, "a file path is required");
  if (raw.size() > kMaxInputBytes) {
    return BadPath(raw, "longer than " + std::to_string(kMaxInputBytes) + " bytes");
  }
  if (raw.find('\0') != std::string_view::npos) return BadPath(raw, "contains a NUL byte");

  const bool absolute = !raw.empty() && raw.front() == '/';
  Components components;
  std::size_t start = 0;
  while (start <= raw.size()) {
    std::size_t end = raw.find('/', start);
    if (end == std::string_view::npos) end = raw.size();
    const std::string_view name = raw.substr(start, end - start);
    start = end + 1;
    if (name.empty() || name == ".") continue;
    if (name == "..") return BadPath(raw, "\"..\" is not allowed");
    if (name.size() > kMaxNameBytes) {
      return BadPath(raw, "a component is longer than " + std::to_string(kMaxNameBytes) + " bytes");
    }
    components.emplace_back(name);
  }
  if (absolute) {
    if (components.empty() || components.front() != "sandbox") {
      return BadPath(raw, "absolute paths must be under /sandbox");
    }
    components.erase(components.begin());
  }
  std::size_t relative_bytes = components.empty() ? 0 : components.size() - 1;  // the slashes
  for (const std::string& name : components) relative_bytes += name.size();
  if (relative_bytes > kMaxPathBytes) {
    return BadPath(raw, "longer than " + std::to_string(kMaxPathBytes) + " bytes below /sandbox");
  }
  if (components.empty() && use == PathUse::kFile) {
    return BadPath(raw, "names the workspace root, not a file");
  }
  return components;
}

bool IsValidComponent(std::string_view name) {
  return !name.empty() && name.size() <= kMaxNameBytes && name != "." && name != ".." &&
         name.find('/') == std::string_view::npos && name.find('\0') == std::string_view::npos;
}

std::string RelativePath(std::span<const std::string> components) {
  std::string out;
  for (const std::string& name : components) {
    if (!out.empty()) out += '/';
    out += name;
  }
  return out;
}

std::string DisplayPath(std::span<const std::string> components) {
  std::string out(kSandboxRoot);
  for (const std::string& name : components) {
    out += '/';
    out += name;
  }
  return out;
}

std::string MessagePath(std::span<const std::string> components) {
  return common::Printable(DisplayPath(components), 200);
}

std::string JsonText(std::string_view bytes) {
  return common::IsValidUtf8(bytes) ? std::string(bytes) : common::RepairUtf8(bytes);
}

std::string PercentEncode(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(bytes.size());
  for (const char c : bytes) {
    const auto u = static_cast<unsigned char>(c);
    const bool unreserved = (u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') ||
                            (u >= '0' && u <= '9') || c == '-' || c == '.' || c == '_' ||
                            c == '~' || c == '/';
    if (unreserved) {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xF];
    }
  }
  return out;
}

}  // namespace workspace
