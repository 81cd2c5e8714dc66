// The API's own description, served without a token: GET /openapi.json (docs/openapi.json,
// the source of truth, checked against the router by api_docs_test.cc) and GET /docs, a page
// that renders it in the browser with nothing loaded from elsewhere. Both are compiled in.
#pragma once

namespace gateway {

extern const char* const kOpenApiJson;
extern const char* const kApiDocsPage;

}  // namespace gateway
