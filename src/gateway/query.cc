#include "gateway/query.h"

namespace gateway {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string PercentDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%' && i + 2 < text.size() && HexValue(text[i + 1]) >= 0 &&
               HexValue(text[i + 2]) >= 0) {
      out += static_cast<char>(HexValue(text[i + 1]) * 16 + HexValue(text[i + 2]));
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

common::Result<QueryParams> ParseQuery(std::string_view target) {
  const std::size_t mark = target.find('?');
  QueryParams params;
  if (mark == std::string_view::npos) return params;
  std::string_view query = target.substr(mark + 1);
  if (const std::size_t hash = query.find('#'); hash != std::string_view::npos)
    query = query.substr(0, hash);
  if (query.size() > kMaxQueryBytes)
    return common::Fail("Query string exceeds " + std::to_string(kMaxQueryBytes) + " bytes");
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const std::size_t eq = pair.find('=');
    std::string name = PercentDecode(pair.substr(0, eq));
    std::string value =
        eq == std::string_view::npos ? std::string() : PercentDecode(pair.substr(eq + 1));
    if (name.find('\0') != std::string::npos || value.find('\0') != std::string::npos)
      return common::Fail("Query parameters must not contain NUL bytes");
    if (params.contains(name))
      return common::Fail("Query parameter '" + name + "' is given more than once");
    params.emplace(std::move(name), std::move(value));
  }
  return params;
}

common::Result<bool> BoolParam(const QueryParams& params, std::string_view name) {
  const auto it = params.find(name);
  if (it == params.end() || it->second == "false" || it->second == "0") return false;
  if (it->second == "true" || it->second == "1") return true;
  return common::Fail("Query parameter '" + std::string(name) + "' must be true or false");
}

}  // namespace gateway
