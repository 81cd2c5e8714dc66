// Text helpers for bytes that come from untrusted places (kernels, HTTP clients).
// Pure functions; safe from any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace common {

// True when `s` is well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF).
bool IsValidUtf8(std::string_view s);

// Returns `s` with every ill-formed sequence replaced by U+FFFD.
std::string RepairUtf8(std::string_view s);

// Removes ANSI escape sequences (CSI "ESC [ ... final", OSC "ESC ] ... BEL|ST", and lone ESC x).
std::string StripAnsi(std::string_view s);

// A form of `s` safe to put in a one-line log: control characters escaped, at most
// `max_bytes` of input shown, "..." appended when cut.
std::string Printable(std::string_view s, std::size_t max_bytes = 80);

// Cuts `s` to at most `max_bytes` without splitting a UTF-8 sequence.
std::string_view TruncateUtf8(std::string_view s, std::size_t max_bytes);

}  // namespace common
