// What the HTTP and router fuzz targets share: a Sessions fake that answers at once with an
// outcome derived from the command, and Route(), which calls HandleRequest and checks the
// response against the API's contract.
#pragma once

#include <optional>
#include <string>

#include "gateway/router.h"
#include "pool/sessions.h"

namespace fuzz {

inline constexpr const char* kToken = "fuzz-token-0123456789abcdef";

// The server's router configuration with kToken.
gateway::RouterConfig FuzzRouterConfig();

// Answers synchronously. The outcome (kind, status, texts, outputs) is a function of the
// command, so the fuzzer steers ExecuteResponse through the request body: a `code` that is
// a JSON array becomes the outputs.
class FakeSessions : public pool::Sessions {
 public:
  void Execute(pool::ExecuteCommand command,
               std::function<void(pool::ExecuteOutcome)> done) override;
  bool Release(const std::string& user) override;
  pool::PoolStatus Status() const override;
  // Refused (501): the file routes' parsing is fuzzed up to the workspace, not beyond.
  void OpenWorkspace(const std::string& user, const pool::SessionOptions& /*options*/,
                     std::function<void(pool::WorkspaceGrant)> done) override;

  int Calls() const { return calls_; }
  const std::optional<pool::ExecuteCommand>& last_command() const { return last_command_; }

 private:
  mutable int calls_ = 0;
  std::optional<pool::ExecuteCommand> last_command_;
};

// HandleRequest with the checks every response must pass: exactly one response, a status the
// API documents, a well-formed UTF-8 JSON body with "detail" on errors, no session call
// without the token, and only validated commands reaching the sessions.
gateway::HttpResponse Route(const gateway::HttpRequest& request, FakeSessions& sessions);

}  // namespace fuzz
