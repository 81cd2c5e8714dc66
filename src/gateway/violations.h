// Validation errors of the /api/v1 routes, shaped as the original's later version (FastAPI)
// answers them: 422 {"detail": [{"type", "loc", "msg"}]}, where `loc` is where the value was
// (["query", "user_uuid"], ["body", "code"], ...). The seed's routes answer 400 with a string
// `detail` instead. Pure, io thread.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "common/result.h"
#include "gateway/query.h"
#include "gateway/router.h"

namespace gateway {

class Violations {
 public:
  void Add(nlohmann::json loc, std::string msg, std::string type = "value_error");
  bool Any() const { return !errors_.empty(); }
  HttpResponse Response() const;

 private:
  nlohmann::json errors_ = nlohmann::json::array();
};

// The `user_uuid` of an /api/v1 query (parsed or not), or "" with the violation recorded.
std::string QueryUser(const common::Result<QueryParams>& params, const RouterConfig& config,
                      Violations& violations);

}  // namespace gateway
