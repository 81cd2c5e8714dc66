#include "gateway/url_files.h"

#include <nlohmann/json.hpp>

#include "gateway/api.h"
#include "gateway/query.h"
#include "gateway/url_transfers.h"
#include "gateway/violations.h"
#include "workspace/workspace.h"

namespace gateway {
namespace {

using nlohmann::json;

enum class Kind { kImport, kExport, kDelete };

json Loc(json base, json last) {
  base.push_back(std::move(last));
  return base;
}

struct Entry {
  workspace::Components file;  // path + name
  std::string dir;             // `path` as given
  std::string name;
  std::optional<fetch::Url> url;
  std::optional<fetch::FormFields> form;
};

const json* StringField(const json& item, const char* field, const json& loc, Violations& v) {
  const auto it = item.find(field);
  if (it == item.end()) {
    v.Add(Loc(loc, field), "Field required", "missing");
    return nullptr;
  }
  if (!it->is_string()) {
    v.Add(Loc(loc, field), "Input should be a valid string", "string_type");
    return nullptr;
  }
  return &*it;
}

std::optional<fetch::FormFields> ParseForm(const json& item, const json& loc, Violations& v) {
  const auto it = item.find("upload_fields");
  if (it == item.end() || it->is_null()) return std::nullopt;
  if (!it->is_object()) {
    v.Add(Loc(loc, "upload_fields"), "Input should be a valid dictionary", "dict_type");
    return std::nullopt;
  }
  fetch::FormFields fields;
  for (const auto& [key, value] : it->items()) {
    if (!value.is_string()) {
      v.Add(Loc(Loc(loc, "upload_fields"), key), "Input should be a valid string", "string_type");
      continue;
    }
    fields.emplace_back(key, value.get<std::string>());
  }
  return fields;
}

std::optional<Entry> ParseEntry(const json& item, Kind kind, const json& loc, Violations& v) {
  if (!item.is_object()) {
    v.Add(loc, "Input should be a valid dictionary or object", "dict_type");
    return std::nullopt;
  }
  const json* path = StringField(item, "path", loc, v);
  const json* name = StringField(item, "name", loc, v);
  const char* url_field = kind == Kind::kImport   ? "download_url"
                          : kind == Kind::kExport ? "upload_url"
                                                  : nullptr;
  const json* url = url_field != nullptr ? StringField(item, url_field, loc, v) : nullptr;
  Entry entry;
  bool ok = path != nullptr && name != nullptr && (url_field == nullptr || url != nullptr);
  if (path != nullptr) {
    entry.dir = path->get<std::string>();
    auto dir = workspace::ParseClientPath(entry.dir, workspace::PathUse::kDirectory);
    if (dir) {
      entry.file = std::move(*dir);
    } else {
      v.Add(Loc(loc, "path"), "Value error, " + dir.error().message);
      ok = false;
    }
  }
  if (name != nullptr) {
    entry.name = name->get<std::string>();
    if (!workspace::IsValidComponent(entry.name) || entry.name.find('\\') != std::string::npos) {
      v.Add(Loc(loc, "name"),
            "Value error, a file name must be non-empty, at most 255 bytes, not '.' or '..', "
            "and hold no path separator or NUL");
      ok = false;
    }
  }
  if (url != nullptr) {
    auto parsed = fetch::ParseUrl(url->get<std::string>());
    if (parsed) {
      entry.url = std::move(*parsed);
    } else {
      v.Add(Loc(loc, url_field), "Value error, " + parsed.error().message, "url_parsing");
      ok = false;
    }
  }
  if (kind == Kind::kExport) entry.form = ParseForm(item, loc, v);
  if (!ok) return std::nullopt;
  entry.file.push_back(entry.name);
  if (workspace::RelativePath(entry.file).size() > workspace::kMaxPathBytes) {
    v.Add(loc, "Value error, the path is too long");
    return std::nullopt;
  }
  return entry;
}

std::optional<std::vector<Entry>> ParseBody(const HttpRequest& request, Kind kind, Violations& v) {
  const json body = json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) {
    v.Add(json::array({"body"}), "JSON decode error", "json_invalid");
    return std::nullopt;
  }
  if (!body.is_object()) {
    v.Add(json::array({"body"}), "Input should be a valid dictionary or object", "dict_type");
    return std::nullopt;
  }
  const auto files = body.find("files");
  if (files == body.end()) {
    v.Add(json::array({"body", "files"}), "Field required", "missing");
    return std::nullopt;
  }
  if (!files->is_array()) {
    v.Add(json::array({"body", "files"}), "Input should be a valid list", "list_type");
    return std::nullopt;
  }
  if (files->size() > kMaxUrlFiles) {
    v.Add(json::array({"body", "files"}),
          "List should have at most " + std::to_string(kMaxUrlFiles) + " items, not " +
              std::to_string(files->size()),
          "too_long");
    return std::nullopt;
  }
  std::vector<Entry> entries;
  for (std::size_t i = 0; i < files->size(); ++i) {
    auto entry = ParseEntry((*files)[i], kind, json::array({"body", "files", i}), v);
    if (entry) entries.push_back(std::move(*entry));
  }
  if (v.Any()) return std::nullopt;
  return entries;
}

// The batch's answer: `ok_status` when every file succeeded, else the first failure's.
HttpResponse BatchResponse(int ok_status, const std::vector<Entry>& entries,
                           const std::vector<TransferResult>& results, Kind kind) {
  json done = json::array();
  json errors = json::array();
  int status = ok_status;
  std::string detail;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const std::string full_path = workspace::DisplayPath(entries[i].file);
    if (results[i].status != 0) {
      if (errors.empty()) {
        status = results[i].status;
        detail = results[i].detail;
      }
      json error = PathFields(full_path);
      error["full_path"] = error["path"];
      error.erase("path");
      error["index"] = i;
      error["status"] = results[i].status;
      error["detail"] = results[i].detail;
      errors.push_back(std::move(error));
      continue;
    }
    if (kind == Kind::kImport) {
      done.push_back({{"full_path", workspace::JsonText(full_path)}, {"size", results[i].size}});
    } else {
      done.push_back(
          {{"path", entries[i].dir}, {"name", entries[i].name}, {"size", results[i].size}});
    }
  }
  HttpResponse response;
  response.status = status;
  if (errors.empty()) {
    response.body = Dump(json{{"success", true}, {"results", std::move(done)}});
  } else {
    response.body = Dump(json{{"success", false},
                              {"detail", std::move(detail)},
                              {"results", std::move(done)},
                              {"errors", std::move(errors)}});
  }
  return response;
}

HttpResponse DeleteAll(const std::vector<Entry>& entries, const sandbox::HostWorkspace& ws) {
  std::vector<TransferResult> results(entries.size());
  bool failed = false;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    auto removed = workspace::Remove(ws.RootFd(), entries[i].file, /*recursive=*/false);
    // Deleting what is not there is done already.
    if (!removed && removed.error().code != workspace::FsErrc::kNotFound) {
      results[i] = {workspace::HttpStatus(removed.error().code), removed.error().message, 0};
      failed = true;
    }
  }
  if (failed) return BatchResponse(204, entries, results, Kind::kDelete);
  HttpResponse response;
  response.status = 204;
  response.content_type.clear();
  return response;
}

}  // namespace

bool IsUrlFileRoute(std::string_view path) {
  return path == "/api/v1/files" || path == "/api/v1/files/export";
}

void HandleUrlFileRequest(const HttpRequest& request, const RouterConfig& config,
                          pool::Sessions& sessions, std::function<void(HttpResponse)> respond) {
  const Kind kind = RequestPath(request) == "/api/v1/files/export" ? Kind::kExport
                    : request.method == "DELETE"                   ? Kind::kDelete
                                                                   : Kind::kImport;
  Violations violations;
  auto params = ParseQuery(request.target);
  const std::string user = QueryUser(params, config, violations);
  pool::SessionOptions options;
  if (params) {
    auto session = ParseSessionQuery(*params);
    if (session) {
      options = std::move(*session);
    } else {
      violations.Add(json::array({"query"}), session.error().message);
    }
  }
  auto entries = ParseBody(request, kind, violations);
  if (violations.Any() || !entries) return respond(violations.Response());
  if (kind != Kind::kDelete && !config.url_transfers) {
    return respond(ErrorResponse(501, "URL import and export are not enabled on this server"));
  }
  sessions.OpenWorkspace(
      user, options,
      [kind, &sessions, user, transfers = config.url_transfers, entries = std::move(*entries),
       respond = std::move(respond)](pool::WorkspaceGrant grant) mutable {
        if (auto refused = WorkspaceRefusalResponse(grant)) return respond(std::move(*refused));
        if (kind == Kind::kDelete) {
          HttpResponse response = DeleteAll(entries, *grant.workspace);
          sessions.WorkspaceChanged(user);
          return respond(std::move(response));
        }
        auto shared = std::make_shared<std::vector<Entry>>(std::move(entries));
        auto finish = [kind, &sessions, user, shared,
                       respond](std::vector<TransferResult> results) {
          if (kind == Kind::kImport) sessions.WorkspaceChanged(user);
          respond(BatchResponse(kind == Kind::kImport ? 201 : 200, *shared, results, kind));
        };
        bool queued = false;
        if (kind == Kind::kImport) {
          std::vector<ImportItem> items;
          for (const Entry& e : *shared) items.push_back({*e.url, e.file});
          queued = transfers->Import(grant.workspace, std::move(items), finish);
        } else {
          std::vector<ExportItem> items;
          for (const Entry& e : *shared) items.push_back({*e.url, e.file, e.form});
          queued = transfers->Export(grant.workspace, std::move(items), finish);
        }
        if (!queued) {
          HttpResponse busy =
              ErrorResponse(503, "Too many URL transfers are waiting; try again later");
          busy.headers.emplace_back("Retry-After", "5");
          respond(std::move(busy));
        }
      });
}

}  // namespace gateway
