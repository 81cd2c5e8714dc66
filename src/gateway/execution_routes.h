// Executions as the API serves them. Every execution gets an execution_id, in its response
// (errors included) and its first event.
//
// RunExecution: POST /execute and /api/v1/execute. A plain request gets one JSON answer; one
// whose Accept asks for text/event-stream (Server-Sent Events) or application/x-ndjson gets
// the execution's events as they happen: "start" {execution_id, worker_id}, the output events
// (jupyter/events.h), "files" when the workspace changed, "done" whose data is exactly the plain
// answer. The streamed response's head goes out when the code reaches a kernel; a request refused
// before that (queue full, no capacity, invalid options) gets the plain error and its status.
// Either way a client that hangs up abandons the execution (it is interrupted).
//
// HandleExecutionRequest: the detached executions, which outlive their connection.
//   POST /executions              same body as /execute; queues it, 202 {execution_id, state}
//   GET  /executions/{id}         its state; once done, /execute's answer plus state and
//                                 http_status (the status /execute would have had)
//   GET  /executions/{id}/events  its events from the start, or after Last-Event-ID (header or
//                                 ?last_event_id=); SSE unless Accept asks for NDJSON
//   POST /executions/{id}/interrupt  interrupts it if it runs (as POST /interrupt does)
// Ids unknown or forgotten (ExecutionRegistry's retention) are 404.
// io thread, as the router.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "gateway/api.h"
#include "gateway/router.h"
#include "pool/sessions.h"

namespace gateway {

// A new execution_id: "ex-" and 24 hex digits.
std::string NewExecutionId();

void RunExecution(pool::ExecuteCommand command, ApiLayout layout, const HttpRequest& request,
                  const RouterConfig& config, pool::Sessions& sessions,
                  std::function<void(HttpResponse)> respond);

// True for /executions and /executions/<anything>.
bool IsExecutionRoute(std::string_view path);

void HandleExecutionRequest(const HttpRequest& request, const RouterConfig& config,
                            pool::Sessions& sessions, std::function<void(HttpResponse)> respond);

}  // namespace gateway
