#include "gateway/event_format.h"

#include <algorithm>
#include <cctype>

namespace gateway {
namespace {

bool ContainsToken(std::string_view header, std::string_view token) {
  std::string lower(header);
  std::ranges::transform(lower, lower.begin(), [](unsigned char c) { return std::tolower(c); });
  return lower.find(token) != std::string::npos;
}

}  // namespace

std::optional<StreamFormat> StreamFormatFor(std::string_view accept) {
  if (ContainsToken(accept, "text/event-stream")) return StreamFormat::kSse;
  if (ContainsToken(accept, "application/x-ndjson")) return StreamFormat::kNdjson;
  return std::nullopt;
}

std::string_view ContentTypeOf(StreamFormat format) {
  return format == StreamFormat::kSse ? "text/event-stream; charset=utf-8" : "application/x-ndjson";
}

std::string FormatEvent(StreamFormat format, std::uint64_t id, std::string_view name,
                        std::string_view data) {
  std::string out;
  out.reserve(data.size() + name.size() + 48);
  if (format == StreamFormat::kSse) {
    if (id != 0) out.append("id: ").append(std::to_string(id)).append("\n");
    out.append("event: ").append(name).append("\ndata: ").append(data).append("\n\n");
    return out;
  }
  out.append("{");
  if (id != 0) out.append("\"id\":").append(std::to_string(id)).append(",");
  out.append("\"event\":\"").append(name).append("\",\"data\":").append(data).append("}\n");
  return out;
}

}  // namespace gateway
