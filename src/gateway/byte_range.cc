#include "gateway/byte_range.h"

#include <charconv>
#include <limits>

namespace gateway {
namespace {

std::optional<std::uint64_t> Number(std::string_view text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

RangeChoice ChooseRange(std::optional<std::string_view> header, std::uint64_t size) {
  if (!header) return {};
  std::string_view value = *header;
  constexpr std::string_view kUnit = "bytes=";
  if (value.substr(0, kUnit.size()) != kUnit) return {};
  value.remove_prefix(kUnit.size());
  if (value.find(',') != std::string_view::npos) return {};
  const std::size_t dash = value.find('-');
  if (dash == std::string_view::npos) return {};
  const std::string_view first = value.substr(0, dash);
  const std::string_view last = value.substr(dash + 1);
  if (first.empty()) {  // the last n bytes
    const auto suffix = Number(last);
    if (!suffix) return {};
    if (*suffix == 0) return {.range = std::nullopt, .unsatisfiable = true};
    const std::uint64_t length = *suffix < size ? *suffix : size;
    if (length == 0) return {.range = std::nullopt, .unsatisfiable = true};
    return {.range = ByteRange{size - length, length}};
  }
  const auto start = Number(first);
  if (!start) return {};
  std::uint64_t end = std::numeric_limits<std::uint64_t>::max();
  if (!last.empty()) {
    const auto parsed = Number(last);
    if (!parsed || *parsed < *start) return {};
    end = *parsed;
  }
  if (*start >= size) return {.range = std::nullopt, .unsatisfiable = true};
  if (end >= size) end = size - 1;
  return {.range = ByteRange{*start, end - *start + 1}};
}

}  // namespace gateway
