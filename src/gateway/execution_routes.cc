#include "gateway/execution_routes.h"

#include <charconv>
#include <memory>
#include <nlohmann/json.hpp>

#include "common/crypto.h"
#include "common/metrics.h"
#include "gateway/event_format.h"
#include "gateway/execution_registry.h"
#include "gateway/execution_run.h"
#include "gateway/query.h"
#include "gateway/response_stream.h"

namespace gateway {
namespace {

using nlohmann::json;

constexpr std::string_view kExecutionsPath = "/executions";

common::metrics::Counter& Started(std::string_view how) {
  return common::metrics::Default().GetCounter(
      "code_interpreter_api_executions_total",
      "Executions asked for, by how their answer is read: plain, streamed, detached.",
      {{"mode", std::string(how)}});
}

HttpResponse StreamResponse(std::shared_ptr<ResponseStream> stream, StreamFormat format) {
  HttpResponse response;
  response.content_type = std::string(ContentTypeOf(format));
  response.stream = std::move(stream);
  response.headers.emplace_back("X-Accel-Buffering", "no");  // proxies: do not buffer it
  return response;
}

json FilesOf(const pool::ExecuteOutcome& outcome) {
  return outcome.files ? FilesJson(*outcome.files) : json(nullptr);
}

std::optional<std::uint64_t> ParseEventId(std::string_view text) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

json RunJson(const ExecutionRun& run) {
  const std::string base = std::string(kExecutionsPath) + "/" + run.id();
  json body = {
      {"execution_id", run.id()},
      {"user_uuid", run.user()},
      {"state", StateName(run.state())},
      {"worker_id", run.worker_id().empty() ? json(nullptr) : json(run.worker_id())},
      {"last_event_id", run.last_event_id()},
      {"links",
       {{"self", base}, {"events", base + "/events"}, {"interrupt", base + "/interrupt"}}}};
  return body;
}

void Detach(const HttpRequest& request, const RouterConfig& config, pool::Sessions& sessions,
            std::function<void(HttpResponse)> respond) {
  auto command = ParseExecute(request.body, config);
  if (!command) return respond(ErrorResponse(400, command.error().message));
  const std::string id = NewExecutionId();
  command->id = id;
  std::shared_ptr<ExecutionRun> run = config.executions->Create(id, command->user);
  if (!run) {
    HttpResponse response = ErrorResponse(
        503, "Too many detached executions are queued or running; retry when some have finished");
    response.headers.emplace_back("Retry-After", "5");
    return respond(std::move(response));
  }
  Started("detached").Add(1);
  command->on_start = [run](const std::string& worker_id) { run->Start(worker_id); };
  command->on_event = [run](const jupyter::ExecutionEvent& event) { run->Add(event); };
  // No ticket: nobody's hang-up abandons it.
  sessions.Execute(std::move(*command), [run](pool::ExecuteOutcome outcome) {
    json files = FilesOf(outcome);
    HttpResponse answer = ExecuteResponse(std::move(outcome), ApiLayout::kSeed, run->id());
    run->Finish(answer.status, std::move(answer.body), files);
  });
  HttpResponse response;
  response.status = 202;
  response.headers.emplace_back("Location", std::string(kExecutionsPath) + "/" + id);
  response.body = Dump(RunJson(*run));
  respond(std::move(response));
}

HttpResponse Describe(const ExecutionRun& run) {
  HttpResponse response;
  if (run.state() != ExecutionRun::State::kDone) {
    response.body = Dump(RunJson(run));
    return response;
  }
  json body = json::parse(run.body(), nullptr, /*allow_exceptions=*/false);
  if (!body.is_object()) body = json::object();
  body["state"] = "done";
  body["http_status"] = run.http_status();
  if (!run.worker_id().empty()) body["worker_id"] = run.worker_id();
  response.body = Dump(body);
  return response;
}

HttpResponse Follow(ExecutionRun& run, const HttpRequest& request, const RouterConfig& config) {
  std::uint64_t after = 0;
  std::optional<std::string> last = request.last_event_id;
  if (!last) {
    auto params = ParseQuery(request.target);
    if (!params) return ErrorResponse(400, params.error().message);
    if (const auto it = params->find("last_event_id"); it != params->end()) last = it->second;
  }
  if (last) {
    const auto id = ParseEventId(*last);
    if (!id) return ErrorResponse(400, "Last-Event-ID must be an event's id (a number)");
    after = *id;
  }
  const StreamFormat format = StreamFormatFor(request.accept).value_or(StreamFormat::kSse);
  auto stream = std::make_shared<ResponseStream>(config.max_stream_pending_bytes);
  run.Subscribe(stream, format, after);  // queued until the connection sends them
  return StreamResponse(std::move(stream), format);
}

HttpResponse Interrupt(const ExecutionRun& run, pool::Sessions& sessions) {
  bool interrupted = false;
  std::string detail;
  switch (run.state()) {
    case ExecutionRun::State::kQueued:
      detail = "The execution has not started yet; it can be interrupted once it runs.";
      break;
    case ExecutionRun::State::kRunning:
      // A user runs one execution at a time: the user's running one is this one.
      interrupted = sessions.Interrupt(run.user());
      detail = interrupted ? "The execution is being interrupted; its events and state tell how "
                             "it ended."
                           : "The execution is ending.";
      break;
    case ExecutionRun::State::kDone:
      detail = "The execution has already ended.";
      break;
  }
  HttpResponse response;
  response.body = Dump(json{{"execution_id", run.id()},
                            {"interrupted", interrupted},
                            {"state", StateName(run.state())},
                            {"detail", detail}});
  return response;
}

}  // namespace

std::string NewExecutionId() {
  auto hex = common::RandomHex(12);
  if (hex) return "ex-" + *hex;
  static std::uint64_t fallback = 0;  // no randomness: still unique in this process
  return "ex-" + std::to_string(++fallback);
}

void RunExecution(pool::ExecuteCommand command, ApiLayout layout, const HttpRequest& request,
                  const RouterConfig& config, pool::Sessions& sessions,
                  std::function<void(HttpResponse)> respond) {
  std::string id = NewExecutionId();
  command.id = id;
  command.ticket = request.id;
  const std::optional<StreamFormat> format = StreamFormatFor(request.accept);
  Started(format ? "streamed" : "plain").Add(1);
  if (!format) {
    return sessions.Execute(std::move(command), [respond = std::move(respond), layout,
                                                 id = std::move(id)](pool::ExecuteOutcome outcome) {
      respond(ExecuteResponse(std::move(outcome), layout, id));
    });
  }
  // Streamed: nothing is kept for later (its one reader is this connection).
  auto run = std::make_shared<ExecutionRun>(id, command.user, 0);
  auto stream = std::make_shared<ResponseStream>(config.max_stream_pending_bytes);
  auto pending = std::make_shared<std::function<void(HttpResponse)>>(std::move(respond));
  const std::uint64_t ticket = command.ticket;
  command.on_start = [run, stream, pending, format = *format, ticket,
                      &sessions](const std::string& worker_id) {
    run->Subscribe(stream, format, 0);
    run->Start(worker_id);
    stream->OnClientGone([&sessions, ticket] { sessions.Abandon(ticket); });
    auto respond = std::move(*pending);
    *pending = nullptr;
    respond(StreamResponse(stream, format));
  };
  command.on_event = [run](const jupyter::ExecutionEvent& event) { run->Add(event); };
  sessions.Execute(std::move(command), [run, pending, layout](pool::ExecuteOutcome outcome) {
    json files = FilesOf(outcome);
    HttpResponse answer = ExecuteResponse(std::move(outcome), layout, run->id());
    if (*pending) return (*pending)(std::move(answer));  // it never started
    run->Finish(answer.status, std::move(answer.body), files);
  });
}

bool IsExecutionRoute(std::string_view path) {
  return path == kExecutionsPath ||
         (path.starts_with(kExecutionsPath) && path.size() > kExecutionsPath.size() &&
          path[kExecutionsPath.size()] == '/');
}

void HandleExecutionRequest(const HttpRequest& request, const RouterConfig& config,
                            pool::Sessions& sessions, std::function<void(HttpResponse)> respond) {
  if (!config.executions)
    return respond(ErrorResponse(501, "Detached executions are not enabled on this server"));
  const std::string_view path = RequestPath(request);
  if (path == kExecutionsPath) return Detach(request, config, sessions, std::move(respond));

  // /executions/{id}[/events|/interrupt]
  std::string_view rest = path.substr(kExecutionsPath.size() + 1);
  std::string_view action;
  if (const std::size_t slash = rest.find('/'); slash != std::string_view::npos) {
    action = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
  }
  const bool get = request.method == "GET";
  const std::string_view allow = action == "interrupt" ? "POST" : "GET";
  if (action != "" && action != "events" && action != "interrupt")
    return respond(ErrorResponse(404, "Not found"));
  if ((allow == "GET") != get) {
    HttpResponse response = ErrorResponse(405, "Method not allowed; use " + std::string(allow));
    response.headers.emplace_back("Allow", std::string(allow));
    return respond(std::move(response));
  }
  std::shared_ptr<ExecutionRun> run = config.executions->Find(std::string(rest));
  if (!run) {
    return respond(ErrorResponse(
        404, "Unknown execution (finished executions are kept for " +
                 std::to_string(config.executions->retention().keep_finished.count()) + " s)"));
  }
  if (action == "events") return respond(Follow(*run, request, config));
  if (action == "interrupt") return respond(Interrupt(*run, sessions));
  respond(Describe(*run));
}

}  // namespace gateway
