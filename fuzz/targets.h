// The fuzz entry points, one per target. Each accepts any bytes and returns normally; a
// broken invariant aborts with a message (see check.h), which libFuzzer reports as a crash
// and the regression runner as a failed test. The same code is compiled by clang into the
// libFuzzer binaries (CI_FUZZ=ON, fuzz/*_fuzzer.cc) and by the normal compiler into
// fuzz_regression_test, which replays fuzz/corpus/<target>/ and fuzz/crashes/<target>/.
// Not thread-safe: libFuzzer calls them from one thread.
#pragma once

#include <string_view>

namespace fuzz {

// Raw bytes from a client socket: Beast's request parser with the server's limits, then
// HandleRequest, then the response serialized as the server writes it. Handles keep-alive
// (several requests per input) and checks that the outcome does not depend on how the
// bytes are split across reads.
void FuzzHttpRequest(std::string_view input);

// A request already parsed: "METHOD\nTARGET\nTOKEN\nBODY" where TOKEN "=" is the right
// token, "-" is no X-Auth-Token header and anything else is sent as is.
void FuzzRouter(std::string_view input);

// A request body given to ParseExecute and ParseUserBody.
void FuzzApiJson(std::string_view input);

// Frames from a kernel: byte 0 picks the signing mode (see jupyter_wire_target.cc), the
// rest is frames, each a 2-byte little-endian length and its bytes. Decoded messages go on
// through the OutputCollector to the HTTP response body, as a kernel's output does.
void FuzzJupyterWire(std::string_view input);

// Bytes a kernel writes to its end of a connection, through the ZMTP decoder: byte 0 picks
// a chunk size and the expected peer type (see zmtp_target.cc).
void FuzzZmtp(std::string_view input);

// A client's `path=` value (URL-decoded bytes) through the workspace's ParseClientPath, for
// a file and for a directory, and the parsed path beneath an empty directory.
void FuzzWorkspacePath(std::string_view input);

// The query string of a /files request (the bytes after '?'), through the file routes' query
// parser, then its `path` and `range` values through their parsers.
void FuzzFileQuery(std::string_view input);

// An upload form's body (boundary "fuzzB"), byte 0 choosing a chunk size, through the
// multipart reader whole and in chunks.
void FuzzMultipart(std::string_view input);

struct Target {
  const char* name;  // the directory name under fuzz/corpus and fuzz/crashes
  void (*entry)(std::string_view);
};

inline constexpr Target kTargets[] = {
    {"http_request", FuzzHttpRequest},
    {"router", FuzzRouter},
    {"api_json", FuzzApiJson},
    {"jupyter_wire", FuzzJupyterWire},
    {"zmtp", FuzzZmtp},
    {"workspace_path", FuzzWorkspacePath},
    {"file_query", FuzzFileQuery},
    {"multipart", FuzzMultipart},
};

}  // namespace fuzz
