#include "gateway/mcp_tools.h"

#include <unistd.h>

#include "common/base64.h"
#include "common/text.h"
#include "gateway/api.h"
#include "gateway/execution_routes.h"
#include "workspace/client_path.h"

namespace gateway {
namespace {

using nlohmann::json;

constexpr std::uint64_t kMaxDownloadBytes = 8u << 20;

json Text(std::string text) { return {{"type", "text"}, {"text", std::move(text)}}; }

json ToolResult(json content, bool is_error) {
  return {{"content", std::move(content)}, {"isError", is_error}};
}

json ToolError(std::string message) {
  return ToolResult(json::array({Text(std::move(message))}), true);
}

json Schema(json properties, json required) {
  return {{"type", "object"},
          {"properties", std::move(properties)},
          {"required", std::move(required)},
          {"additionalProperties", false}};
}

// A string argument, or nullopt (and `error` set) when it is missing or not a string.
std::optional<std::string> StringArg(const json& arguments, const char* name, bool required,
                                     std::string& error) {
  if (!arguments.is_object() || !arguments.contains(name)) {
    if (required) error = std::string("Argument '") + name + "' is required";
    return std::nullopt;
  }
  if (!arguments[name].is_string()) {
    error = std::string("Argument '") + name + "' must be a string";
    return std::nullopt;
  }
  return arguments[name].get<std::string>();
}

std::string Field(const json& body, const char* name) {
  return body.contains(name) && body[name].is_string() ? body[name].get<std::string>() : "";
}

// What a model reads of an /execute answer.
json ExecuteResult(int status, const json& body) {
  std::string text = Field(body, "result_text");
  const auto section = [&text](std::string_view title, const std::string& part) {
    if (part.empty()) return;
    if (!text.empty() && !text.ends_with('\n')) text += '\n';
    text.append(title).append(part);
  };
  section("[stderr]\n", Field(body, "stderr"));
  if (body.contains("error") && body["error"].is_object()) {
    const json& e = body["error"];
    std::string error = Field(e, "ename") + ": " + Field(e, "evalue");
    if (e.contains("traceback") && e["traceback"].is_array()) {
      for (const json& line : e["traceback"])
        if (line.is_string()) error += "\n" + line.get<std::string>();
    }
    section("[error]\n", error);
  } else if (status != 200) {
    section("[error]\n", Field(body, "detail"));
  }
  if (body.value("timed_out", false)) section("", "[the execution timed out]");
  if (body.contains("state_preserved") && !body.value("state_preserved", true))
    section("", "[the session's earlier state (variables, imports) was lost]");
  if (!Field(body, "notice").empty()) section("[notice] ", Field(body, "notice"));
  if (body.contains("files") && body["files"].is_array() && !body["files"].empty()) {
    std::string files;
    for (const json& f : body["files"])
      files += (files.empty() ? "" : ", ") + Field(f, "path") + " (" + Field(f, "change") + ")";
    section("[files changed] ", files);
  }
  if (body.value("truncated", false)) section("", "[output was cut at the server's caps]");
  json content = json::array({Text(text.empty() ? "(no output)" : text)});
  if (body.contains("outputs") && body["outputs"].is_array()) {
    for (const json& output : body["outputs"]) {
      if (!output.contains("data") || !output["data"].is_object()) continue;
      for (const char* mime : {"image/png", "image/jpeg"}) {
        if (output["data"].contains(mime) && output["data"][mime].is_string()) {
          content.push_back(
              {{"type", "image"}, {"data", output["data"][mime]}, {"mimeType", mime}});
          break;
        }
      }
    }
  }
  return ToolResult(std::move(content), status != 200);
}

void ExecutePython(const json& arguments, const std::string& user, std::uint64_t ticket,
                   const RouterConfig& config, pool::Sessions& sessions,
                   std::function<void(json)> done) {
  std::string error;
  const auto code = StringArg(arguments, "code", true, error);
  if (!code) return done(ToolError(error));
  json object = {{"user_uuid", user}, {"code", *code}};
  if (arguments.contains("timeout")) object["timeout"] = arguments["timeout"];
  auto command = ParseExecute(object, config);
  if (!command) return done(ToolError(command.error().message));
  std::string id = NewExecutionId();
  command->ticket = ticket;
  command->id = id;
  sessions.Execute(std::move(*command), [done = std::move(done),
                                         id = std::move(id)](pool::ExecuteOutcome outcome) {
    const HttpResponse response = ExecuteResponse(std::move(outcome), ApiLayout::kSeed, id);
    done(ExecuteResult(response.status, json::parse(response.body, nullptr, false)));
  });
}

// The file routes, called as a client would (the same checks, the same code).
void FileCall(const char* method, const char* route, const std::string& user,
              const std::string& path, std::string body, std::uint64_t ticket,
              const RouterConfig& config, pool::Sessions& sessions,
              std::function<void(HttpResponse)> respond) {
  HttpRequest request;
  request.method = method;
  request.target = std::string(route) + "?user_uuid=" + workspace::PercentEncode(user) +
                   "&path=" + workspace::PercentEncode(path);
  request.auth_token = config.token;
  request.body = std::move(body);
  request.id = ticket;
  HandleRequest(request, config, sessions, std::move(respond));
}

std::string Detail(const HttpResponse& response) {
  const json body = json::parse(response.body, nullptr, false);
  if (body.is_object() && body.contains("detail")) {
    return body["detail"].is_string() ? body["detail"].get<std::string>() : body["detail"].dump();
  }
  return "HTTP " + std::to_string(response.status);
}

// The downloaded file's bytes (at most kMaxDownloadBytes), or an error message.
std::optional<std::string> ReadFile(const ResponseFile& file, std::string& error) {
  if (file.length > kMaxDownloadBytes) {
    error = "The file has " + std::to_string(file.length) +
            " bytes; download_file returns at most " + std::to_string(kMaxDownloadBytes) +
            " (use GET /files for larger ones)";
    return std::nullopt;
  }
  std::string bytes(file.length, '\0');
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::pread(file.fd.Get(), bytes.data() + done, bytes.size() - done,
                              static_cast<off_t>(file.offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // shrank meanwhile: what there is
    done += static_cast<std::size_t>(n);
  }
  bytes.resize(done);
  return bytes;
}

json DownloadResult(const std::string& path, const HttpResponse& response) {
  if (response.status != 200 || !response.file) return ToolError(Detail(response));
  std::string error;
  const auto bytes = ReadFile(*response.file, error);
  if (!bytes) return ToolError(error);
  const std::string& type = response.content_type;
  if (type.starts_with("image/png") || type.starts_with("image/jpeg") ||
      type.starts_with("image/gif") || type.starts_with("image/webp")) {
    return ToolResult(json::array({{{"type", "image"},
                                    {"data", common::Base64Encode(*bytes)},
                                    {"mimeType", type.substr(0, type.find(';'))}}}),
                      false);
  }
  if (common::IsValidUtf8(*bytes) && bytes->find('\0') == std::string::npos)
    return ToolResult(json::array({Text(*bytes)}), false);
  const std::string uri =
      "file://" + workspace::PercentEncode(path.starts_with("/") ? path : "/sandbox/" + path);
  return ToolResult(json::array({{{"type", "resource"},
                                  {"resource",
                                   {{"uri", uri},
                                    {"mimeType", type.empty() ? "application/octet-stream" : type},
                                    {"blob", common::Base64Encode(*bytes)}}}}}),
                    false);
}

json ListResult(const HttpResponse& response) {
  if (response.status != 200) return ToolError(Detail(response));
  const json body = json::parse(response.body, nullptr, false);
  std::string text;
  if (body.contains("entries") && body["entries"].is_array()) {
    for (const json& entry : body["entries"]) {
      text += Field(entry, "path") + "  " + Field(entry, "type");
      if (entry.contains("size") && entry["size"].is_number())
        text += "  " + entry["size"].dump() + " bytes";
      text += "\n";
    }
  }
  if (text.empty()) text = "(empty)\n";
  if (body.value("truncated", false)) text += "(the list was cut)\n";
  return ToolResult(json::array({Text(std::move(text))}), false);
}

}  // namespace

const json& McpToolList() {
  static const json tools = json::array({
      {{"name", "execute_python"},
       {"description",
        "Run Python code in a stateful Jupyter kernel (variables, imports and files in /sandbox "
        "persist across calls in this session). Returns printed output, the value of the last "
        "expression, errors with their traceback, and plots (matplotlib's plt.show()) as images."},
       {"inputSchema",
        Schema({{"code", {{"type", "string"}, {"description", "The Python code to run."}}},
                {"timeout",
                 {{"type", "number"},
                  {"description", "Seconds before the execution is interrupted (optional)."}}}},
               {"code"})}},
      {{"name", "upload_file"},
       {"description",
        "Write a file into the session's workspace (/sandbox), where code can read it."},
       {"inputSchema",
        Schema(
            {{"path",
              {{"type", "string"},
               {"description", "Where: relative to /sandbox, or an absolute /sandbox/... path."}}},
             {"content", {{"type", "string"}, {"description", "The file's bytes, base64."}}}},
            {"path", "content"})}},
      {{"name", "download_file"},
       {"description", "Read a file of the session's workspace (/sandbox): text, image or bytes."},
       {"inputSchema",
        Schema(
            {{"path", {{"type", "string"}, {"description", "Relative to /sandbox, or absolute."}}}},
            {"path"})}},
      {{"name", "list_files"},
       {"description", "List a directory of the session's workspace (default /sandbox)."},
       {"inputSchema",
        Schema(
            {{"path", {{"type", "string"}, {"description", "The directory (default /sandbox)."}}}},
            json::array())}},
      {{"name", "reset_session"},
       {"description",
        "Discard the session: its kernel (variables, imports) and its workspace files. The next "
        "call starts a fresh one."},
       {"inputSchema", Schema(json::object(), json::array())}},
  });
  return tools;
}

bool IsMcpTool(std::string_view name) {
  for (const json& tool : McpToolList())
    if (tool["name"] == name) return true;
  return false;
}

void CallMcpTool(std::string_view name, const json& arguments, const std::string& user,
                 std::uint64_t ticket, const RouterConfig& config, pool::Sessions& sessions,
                 std::function<void(json)> done) {
  if (!arguments.is_null() && !arguments.is_object())
    return done(ToolError("The arguments must be an object"));
  std::string error;
  if (name == "execute_python")
    return ExecutePython(arguments, user, ticket, config, sessions, std::move(done));
  if (name == "reset_session") {
    const bool had = sessions.Release(user);
    return done(ToolResult(
        json::array({Text(had ? "The session was reset; the next call starts a fresh kernel."
                              : "There was no session to reset.")}),
        false));
  }
  const auto path = StringArg(arguments, "path", name != "list_files", error);
  if (!error.empty()) return done(ToolError(error));
  if (name == "upload_file") {
    const auto content = StringArg(arguments, "content", true, error);
    if (!content) return done(ToolError(error));
    auto bytes = common::Base64Decode(*content);
    if (!bytes) return done(ToolError("Argument 'content' is not base64"));
    const std::size_t size = bytes->size();
    return FileCall("PUT", "/files", user, *path, std::move(*bytes), ticket, config, sessions,
                    [done = std::move(done), size](HttpResponse response) {
                      if (response.status != 201) return done(ToolError(Detail(response)));
                      const json body = json::parse(response.body, nullptr, false);
                      done(ToolResult(json::array({Text("Wrote " + Field(body, "path") + " (" +
                                                        std::to_string(size) + " bytes)")}),
                                      false));
                    });
  }
  if (name == "download_file") {
    return FileCall("GET", "/files", user, *path, "", ticket, config, sessions,
                    [done = std::move(done), path = *path](HttpResponse response) {
                      done(DownloadResult(path, response));
                    });
  }
  FileCall("GET", "/files/list", user, path.value_or("/sandbox"), "", ticket, config, sessions,
           [done = std::move(done)](HttpResponse response) { done(ListResult(response)); });
}

}  // namespace gateway
