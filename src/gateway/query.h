// Query strings of the file routes (`?user_uuid=U&path=P&recursive=true`): splitting and
// percent-decoding, pure and safe from any thread. Fuzzed (fuzz/, file_query).
//
// Decoding follows the URL standard's application/x-www-form-urlencoded parser: '&' separates
// pairs, the first '=' separates name from value, '+' is a space, %XX is a byte (any byte but
// NUL comes through: names are bytes, see workspace/client_path.h), a '%' not followed by two
// hex digits stays as it is. A name given twice is refused (which one would count is not
// obvious to a client); so are NUL bytes and a query over kMaxQueryBytes.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace gateway {

inline constexpr std::size_t kMaxQueryBytes = 16384;

using QueryParams = std::map<std::string, std::string, std::less<>>;

// The query of `target` ("/files?a=b" -> {a: b}); no '?' gives no parameters.
common::Result<QueryParams> ParseQuery(std::string_view target);

std::string PercentDecode(std::string_view text);

// "true"/"1" -> true, "false"/"0"/absent -> false, anything else an error naming `name`.
common::Result<bool> BoolParam(const QueryParams& params, std::string_view name);

}  // namespace gateway
