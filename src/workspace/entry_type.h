// The three kinds of workspace entries the API reports. Pure; safe from any thread.
#pragma once

#include <sys/stat.h>

#include <string_view>

namespace workspace {

// Symbolic links, fifos, sockets and devices are all kOther: reported, never followed or
// opened.
enum class EntryType { kFile, kDir, kOther };

inline EntryType TypeOf(mode_t mode) {
  if (S_ISREG(mode)) return EntryType::kFile;
  if (S_ISDIR(mode)) return EntryType::kDir;
  return EntryType::kOther;
}

// "file", "dir", "other": the JSON `type`.
inline std::string_view TypeName(EntryType type) {
  switch (type) {
    case EntryType::kFile:
      return "file";
    case EntryType::kDir:
      return "dir";
    case EntryType::kOther:
      break;
  }
  return "other";
}

inline std::int64_t Nanoseconds(const struct timespec& t) {
  return static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

}  // namespace workspace
