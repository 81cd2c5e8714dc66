// Where the API token comes from: CODE_INTERPRETER_TOKEN, a --token-file, or
// <state-dir>/auth_token.txt, generated (256 random bits, mode 0600) on first use.
// Call at start-up; not thread-safe.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "common/result.h"

namespace gateway {

struct TokenSource {
  std::optional<std::string> from_env;              // the token itself
  std::optional<std::filesystem::path> token_file;  // read, never created
  std::filesystem::path state_dir;                  // auth_token.txt lives here
};

inline constexpr const char* kTokenFileName = "auth_token.txt";

// Returns the token, creating <state-dir>/auth_token.txt when no other source is given and
// the file does not exist yet. Surrounding whitespace is trimmed; an empty token or one
// shorter than 16 characters is an error.
common::Result<std::string> LoadOrCreateToken(const TokenSource& source);

}  // namespace gateway
