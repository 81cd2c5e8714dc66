// ParseExecute and ParseUserBody on any body, checked against each other and against an
// independent reading of the same JSON.

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

#include "common/text.h"
#include "fuzz/check.h"
#include "fuzz/targets.h"
#include "gateway/api.h"

namespace fuzz {
namespace {

using nlohmann::json;

void CheckErrorMessage(const std::string& message) {
  FUZZ_CHECK(!message.empty(), "a parse error without a message");
  const gateway::HttpResponse response = gateway::ErrorResponse(400, message);
  FUZZ_CHECK(common::IsValidUtf8(response.body), "an error body is not valid UTF-8");
  FUZZ_CHECK(json::parse(response.body, nullptr, false).is_object(), "an error body is not JSON");
}

}  // namespace

void FuzzApiJson(std::string_view input) {
  const gateway::RouterConfig config;  // the server's defaults
  const std::string body(input);
  const auto execute = gateway::ParseExecute(body, config);
  const auto release = gateway::ParseUserBody(body, config);
  const json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);

  if (!release) CheckErrorMessage(release.error().message);
  if (!execute) CheckErrorMessage(execute.error().message);
  if (parsed.is_discarded() || !parsed.is_object()) {
    FUZZ_CHECK(!execute && !release, "a body that is not a JSON object was accepted");
    return;
  }

  if (release) {
    const auto user = parsed.find("user_uuid");
    FUZZ_CHECK(user != parsed.end() && user->is_string() && *user == *release,
               "ParseUserBody returned something other than user_uuid");
    FUZZ_CHECK(!release->empty() && release->size() <= config.max_user_bytes,
               "ParseUserBody accepted an empty or oversized user");
  }
  if (!execute) return;
  FUZZ_CHECK(release && *release == execute->user,
             "ParseExecute accepted a user ParseUserBody refuses");
  const auto code = parsed.find("code");
  FUZZ_CHECK(code != parsed.end() && code->is_string() && *code == execute->code,
             "ParseExecute returned something other than code");
  const auto timeout = parsed.find("timeout");
  if (timeout == parsed.end() || timeout->is_null()) {
    FUZZ_CHECK(!execute->timeout, "a timeout appeared from nowhere");
    return;
  }
  FUZZ_CHECK(timeout->is_number() && execute->timeout, "a timeout that is not a number");
  const double seconds = timeout->get<double>();
  const long long ms = execute->timeout->count();
  FUZZ_CHECK(ms > 0 && std::chrono::milliseconds(ms) <= config.max_exec_timeout,
             "the timeout is outside (0, max]");
  FUZZ_CHECK(static_cast<double>(ms) >= seconds * 1000.0 &&
                 static_cast<double>(ms) - 1.0 < seconds * 1000.0,
             "the timeout is not the requested one rounded up to a millisecond");
}

}  // namespace fuzz
