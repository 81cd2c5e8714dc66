// HandleRequest on requests that Beast would never produce as well as those it would:
// any method, target, token and body, split from the input at the first three newlines.

#include <string>

#include "fuzz/gateway_harness.h"
#include "fuzz/targets.h"

namespace fuzz {
namespace {

// The text up to the next '\n' (all of it when there is none); consumes it and the '\n'.
std::string_view NextLine(std::string_view& input) {
  const std::size_t end = input.find('\n');
  const std::string_view line = input.substr(0, end);
  input.remove_prefix(end == std::string_view::npos ? input.size() : end + 1);
  return line;
}

}  // namespace

void FuzzRouter(std::string_view input) {
  gateway::HttpRequest request;
  request.method = NextLine(input);
  request.target = NextLine(input);
  const std::string_view token = NextLine(input);
  if (token == "=") {
    request.auth_token = kToken;
  } else if (token != "-") {
    request.auth_token = std::string(token);
  }
  request.body = input;
  request.id = 1;
  FakeSessions sessions;
  Route(request, sessions);
}

}  // namespace fuzz
