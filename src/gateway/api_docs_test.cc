// docs/openapi.json against the code: every route it documents is served with the methods
// and authentication it says, every served route is documented, and the responses the code
// builds fit the schemas it gives them.
#include "gateway/api_docs.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "gateway/api.h"
#include "gateway/execution_registry.h"
#include "gateway/router.h"

namespace gateway {
namespace {

using nlohmann::json;

const json& Spec() {
  static const json spec = json::parse(kOpenApiJson);
  return spec;
}

// "/sessions/{user_uuid}" -> "/sessions/*", as the router writes it.
std::string RouterPath(const std::string& documented) {
  const std::size_t brace = documented.find('{');
  return brace == std::string::npos ? documented : documented.substr(0, brace) + "*";
}

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

TEST(ApiDocsTest, EveryRouteIsDocumentedAndEveryDocumentedRouteServed) {
  EXPECT_EQ(Spec()["openapi"], "3.1.0");
  std::set<std::string> served, documented;
  for (const RouteInfo& route : Routes()) {
    std::string_view methods = route.methods;
    while (!methods.empty()) {
      const std::size_t space = methods.find(' ');
      served.insert(std::string(methods.substr(0, space)) + " " + std::string(route.path) +
                    (route.needs_auth ? "" : " (no token)"));
      methods = space == std::string_view::npos ? "" : methods.substr(space + 1);
    }
  }
  for (const auto& [path, item] : Spec()["paths"].items()) {
    for (const auto& [method, op] : item.items()) {
      const json& security = op.contains("security") ? op["security"] : Spec()["security"];
      documented.insert(Upper(method) + " " + RouterPath(path) +
                        (security.empty() ? " (no token)" : ""));
    }
  }
  EXPECT_EQ(served, documented);
}

TEST(ApiDocsTest, EveryReferenceResolvesAndEveryOperationSaysItsErrors) {
  const json& schemas = Spec()["components"]["schemas"];
  const std::string dumped = Spec().dump();
  for (std::size_t at = dumped.find("#/components/schemas/"); at != std::string::npos;
       at = dumped.find("#/components/schemas/", at + 1)) {
    const std::size_t start = at + 21;
    const std::string name = dumped.substr(start, dumped.find('"', start) - start);
    EXPECT_TRUE(schemas.contains(name)) << name;
  }
  for (const auto& [path, item] : Spec()["paths"].items()) {
    for (const auto& [method, op] : item.items()) {
      EXPECT_TRUE(op.contains("summary")) << method << " " << path;
      const json& security = op.contains("security") ? op["security"] : Spec()["security"];
      if (!security.empty()) {
        EXPECT_TRUE(op["responses"].contains("401")) << method << " " << path;
      }
    }
  }
}

// The keys a response has are the schema's: required ones present, none it does not name.
void ExpectFits(const json& body, const std::string& schema_name) {
  const json& schema = Spec()["components"]["schemas"][schema_name];
  for (const auto& key : schema["required"]) EXPECT_TRUE(body.contains(key)) << key;
  for (const auto& [key, value] : body.items())
    EXPECT_TRUE(schema["properties"].contains(key)) << schema_name << " lacks " << key;
}

TEST(ApiDocsTest, ExecuteResponsesFitTheirSchema) {
  pool::ExecuteOutcome outcome;
  outcome.result.status = "error";
  outcome.result.error = jupyter::ExecutionError{.ename = "E", .evalue = "v", .traceback = {"t"}};
  outcome.usage = pool::ExecuteOutcome::Usage{1, 2};
  outcome.files = workspace::ChangeList{};
  outcome.worker_id = "w-1";
  outcome.notice = "n";
  for (const ApiLayout layout : {ApiLayout::kSeed, ApiLayout::kV1})
    ExpectFits(json::parse(ExecuteResponse(outcome, layout).body), "ExecuteResponse");
  ExpectFits(Spec()["paths"]["/execute"]["post"]["responses"]["200"]["content"]["application/json"]
                   ["example"],
             "ExecuteResponse");
  ExpectFits(json::parse(StatusBody(pool::PoolStatus{})), "Status");
}

// A pool that takes executions and never runs them.
class NoSessions : public pool::Sessions {
  void Execute(pool::ExecuteCommand, std::function<void(pool::ExecuteOutcome)>) override {}
  bool Release(const std::string&) override { return false; }
  pool::PoolStatus Status() const override { return {}; }
  void OpenWorkspace(const std::string&, const pool::SessionOptions&,
                     std::function<void(pool::WorkspaceGrant)>) override {}
};

TEST(ApiDocsTest, DetachedExecutionResponsesAndEventsFitTheirSchemas) {
  const std::string token = "test-token-0123456789abcdef";
  RouterConfig config{.token = token, .executions = std::make_shared<ExecutionRegistry>()};
  NoSessions sessions;
  const auto send = [&](const std::string& method, const std::string& target,
                        const std::string& body = "") {
    HttpRequest request;
    request.method = method;
    request.target = target;
    request.auth_token = token;
    request.body = body;
    HttpResponse response;
    HandleRequest(request, config, sessions, [&](HttpResponse r) { response = std::move(r); });
    return response;
  };
  const HttpResponse created = send("POST", "/executions", R"({"user_uuid":"u","code":"1"})");
  EXPECT_EQ(created.status, 202);
  const json body = json::parse(created.body);
  ExpectFits(body, "Execution");
  const std::string self = body["links"]["self"];
  ExpectFits(json::parse(send("GET", self).body), "Execution");
  ExpectFits(json::parse(send("POST", self + "/interrupt").body), "ExecutionInterrupt");
  const json& paths = Spec()["paths"];
  ExpectFits(
      paths["/executions"]["post"]["responses"]["202"]["content"]["application/json"]["example"],
      "Execution");
  ExpectFits(
      paths["/execute"]["post"]["responses"]["200"]["content"]["application/x-ndjson"]["example"],
      "Event");
}

TEST(ApiDocsTest, TheDocumentAndItsPageAreServedWithoutAToken) {
  RouterConfig config{.token = "test-token-0123456789abcdef"};
  NoSessions sessions;
  for (const char* target : {"/openapi.json", "/docs"}) {
    HttpRequest request;
    request.method = "GET";
    request.target = target;
    HttpResponse response;
    HandleRequest(request, config, sessions, [&](HttpResponse r) { response = std::move(r); });
    EXPECT_EQ(response.status, 200) << target;
    if (std::string(target) == "/openapi.json") {
      EXPECT_EQ(json::parse(response.body), Spec());
    } else {
      EXPECT_NE(response.body.find("fetch('/openapi.json')"), std::string::npos);
      EXPECT_EQ(response.body.find("http"), std::string::npos)
          << "the page loads nothing from elsewhere";
    }
  }
}

}  // namespace
}  // namespace gateway
