#include "gateway/violations.h"

#include "gateway/api.h"

namespace gateway {

using nlohmann::json;

void Violations::Add(json loc, std::string msg, std::string type) {
  errors_.push_back({{"type", std::move(type)}, {"loc", std::move(loc)}, {"msg", std::move(msg)}});
}

HttpResponse Violations::Response() const {
  HttpResponse response;
  response.status = 422;
  response.body = Dump(json{{"detail", errors_}});
  return response;
}

std::string QueryUser(const common::Result<QueryParams>& params, const RouterConfig& config,
                      Violations& violations) {
  if (!params) {
    violations.Add(json::array({"query"}), params.error().message);
    return {};
  }
  const auto it = params->find("user_uuid");
  if (it == params->end() || it->second.empty()) {
    violations.Add(json::array({"query", "user_uuid"}), "Field required", "missing");
    return {};
  }
  if (it->second.size() > config.max_user_bytes) {
    violations.Add(json::array({"query", "user_uuid"}),
                   "String should have at most " + std::to_string(config.max_user_bytes) + " bytes",
                   "string_too_long");
    return {};
  }
  return it->second;
}

}  // namespace gateway
