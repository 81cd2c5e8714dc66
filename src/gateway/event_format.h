// How a streamed response frames an execution's events: Server-Sent Events (`id:`, `event:`,
// JSON `data:`, a blank line) or NDJSON (one {"id", "event", "data"} object per line). Pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gateway {

enum class StreamFormat { kSse, kNdjson };

// The format an Accept header asks for (text/event-stream, application/x-ndjson), if any.
std::optional<StreamFormat> StreamFormatFor(std::string_view accept);

std::string_view ContentTypeOf(StreamFormat format);

// One event. `data` is compact JSON (no raw newlines). id 0: an event without an id (a notice
// that does not move the client's Last-Event-ID).
std::string FormatEvent(StreamFormat format, std::uint64_t id, std::string_view name,
                        std::string_view data);

}  // namespace gateway
