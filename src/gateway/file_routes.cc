#include "gateway/file_routes.h"

#include <nlohmann/json.hpp>

#include "common/text.h"
#include "gateway/api.h"
#include "gateway/byte_range.h"
#include "gateway/content_type.h"
#include "gateway/multipart_reader.h"
#include "gateway/query.h"
#include "workspace/workspace.h"

namespace gateway {
namespace {

using nlohmann::json;

struct FileQuery {
  std::string user;
  workspace::Components path;
  pool::SessionOptions session;  // for a call that creates the session
  QueryParams params;
};

common::Result<FileQuery> ParseFileQuery(const HttpRequest& request, const RouterConfig& config,
                                         workspace::PathUse use) {
  auto params = ParseQuery(request.target);
  if (!params) return std::unexpected(params.error());
  FileQuery query;
  const auto user = params->find("user_uuid");
  if (user == params->end() || user->second.empty())
    return common::Fail("Query parameter 'user_uuid' is required");
  if (user->second.size() > config.max_user_bytes) {
    return common::Fail("Query parameter 'user_uuid' must be at most " +
                        std::to_string(config.max_user_bytes) + " bytes");
  }
  query.user = user->second;
  const auto path = params->find("path");
  if (path == params->end() && use == workspace::PathUse::kFile)
    return common::Fail("Query parameter 'path' is required");
  auto components =
      workspace::ParseClientPath(path == params->end() ? "" : std::string_view(path->second), use);
  if (!components) return common::Fail(components.error().message);
  query.path = std::move(*components);
  auto session = ParseSessionQuery(*params);
  if (!session) return std::unexpected(session.error());
  query.session = std::move(*session);
  query.params = std::move(*params);
  return query;
}

HttpResponse FsErrorResponse(const workspace::FsError& error) {
  return ErrorResponse(workspace::HttpStatus(error.code), error.message);
}

// Content-Disposition for a name of any bytes: an ASCII fallback and the exact name.
std::string Disposition(const std::string& name) {
  std::string ascii;
  for (const unsigned char c : name) {
    ascii += (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? static_cast<char>(c) : '_';
  }
  return "attachment; filename=\"" + ascii + "\"; filename*=UTF-8''" +
         workspace::PercentEncode(name);
}

HttpResponse Download(const FileQuery& query, const HttpRequest& request,
                      std::shared_ptr<sandbox::HostWorkspace> ws) {
  auto opened = workspace::OpenRegularForRead(ws->RootFd(), query.path);
  if (!opened) return FsErrorResponse(opened.error());
  const std::uint64_t size = opened->size;
  const RangeChoice choice = ChooseRange(request.range, size);
  if (choice.unsatisfiable) {
    HttpResponse response = ErrorResponse(
        416, "Range not satisfiable (the file has " + std::to_string(size) + " bytes)");
    response.headers.emplace_back("Content-Range", "bytes */" + std::to_string(size));
    return response;
  }
  HttpResponse response;
  const std::string& name = query.path.back();
  response.content_type = std::string(ContentTypeFor(name));
  response.headers.emplace_back("Content-Disposition", Disposition(name));
  response.headers.emplace_back("Accept-Ranges", "bytes");
  auto file = std::make_shared<ResponseFile>();
  file->fd = std::move(opened->fd);
  file->length = size;
  if (choice.range) {
    response.status = 206;
    file->offset = choice.range->offset;
    file->length = choice.range->length;
    response.headers.emplace_back("Content-Range",
                                  "bytes " + std::to_string(file->offset) + "-" +
                                      std::to_string(file->offset + file->length - 1) + "/" +
                                      std::to_string(size));
  }
  file->keep_alive = std::move(ws);
  response.file = std::move(file);
  return response;
}

HttpResponse ListDirectory(const FileQuery& query, const RouterConfig& config,
                           const sandbox::HostWorkspace& ws) {
  auto listing = workspace::List(ws.RootFd(), query.path, config.max_list_entries);
  if (!listing) return FsErrorResponse(listing.error());
  HttpResponse response;
  response.body = ListingBody(workspace::DisplayPath(query.path), *listing);
  return response;
}

HttpResponse Delete(const FileQuery& query, const sandbox::HostWorkspace& ws,
                    pool::Sessions& sessions) {
  auto recursive = BoolParam(query.params, "recursive");
  if (!recursive) return ErrorResponse(400, recursive.error().message);
  auto removed = workspace::Remove(ws.RootFd(), query.path, *recursive);
  sessions.WorkspaceChanged(query.user);
  if (!removed) return FsErrorResponse(removed.error());
  HttpResponse response;
  response.status = 204;
  response.content_type.clear();
  return response;
}

// PUT /files: the body goes into an AtomicWriter; nothing is visible before Commit.
class FileUpload final : public BodySink {
 public:
  FileUpload(workspace::AtomicWriter writer, std::string display_path, std::string user,
             std::shared_ptr<sandbox::HostWorkspace> ws, pool::Sessions& sessions)
      : writer_(std::move(writer)),
        display_path_(std::move(display_path)),
        user_(std::move(user)),
        ws_(std::move(ws)),
        sessions_(sessions) {}

  std::optional<HttpResponse> Write(std::string_view chunk) override {
    if (auto written = writer_.Write(chunk); !written) return FsErrorResponse(written.error());
    return std::nullopt;
  }

  void Finish(std::function<void(HttpResponse)> respond) override {
    auto committed = writer_.Commit();
    sessions_.WorkspaceChanged(user_);
    if (!committed) return respond(FsErrorResponse(committed.error()));
    HttpResponse response;
    response.status = 201;
    json body = PathFields(display_path_);
    body["size"] = committed->size;
    body["sha256"] = committed->sha256;
    response.body = Dump(body);
    respond(std::move(response));
  }

 private:
  workspace::AtomicWriter writer_;
  std::string display_path_;
  std::string user_;
  std::shared_ptr<sandbox::HostWorkspace> ws_;  // mounted while the upload runs
  pool::Sessions& sessions_;
};

// POST /files/upload: each file part of a multipart/form-data body becomes DIR/<its file
// name>, written like PUT /files (atomic per file); other fields are ignored.
class FormUpload final : public BodySink, public MultipartHandler {
 public:
  FormUpload(std::string boundary, workspace::Components dir, const RouterConfig& config,
             std::string user, std::shared_ptr<sandbox::HostWorkspace> ws, pool::Sessions& sessions)
      : reader_(std::move(boundary), *this),
        dir_(std::move(dir)),
        max_file_bytes_(config.max_file_bytes),
        user_(std::move(user)),
        ws_(std::move(ws)),
        sessions_(sessions) {}
  ~FormUpload() override {
    if (!done_.empty()) sessions_.WorkspaceChanged(user_);
  }

  std::optional<HttpResponse> Write(std::string_view chunk) override {
    if (auto fed = reader_.Feed(chunk); !fed) return Failure(fed.error());
    return std::nullopt;
  }

  void Finish(std::function<void(HttpResponse)> respond) override {
    if (auto finished = reader_.Finish(); !finished) return respond(Failure(finished.error()));
    HttpResponse response;
    response.status = 201;
    response.body = Dump(json{{"files", done_}});
    respond(std::move(response));
  }

  common::Result<void> OnPartBegin(const PartHead& head) override {
    writer_.reset();
    if (!head.filename) return {};  // a plain field
    std::string name = *head.filename;
    // Some browsers send the client's whole path: keep its last component.
    if (const std::size_t cut = name.find_last_of("/\\"); cut != std::string::npos)
      name.erase(0, cut + 1);
    if (!workspace::IsValidComponent(name)) {
      return common::Fail("The form's file part \"" + common::Printable(name, 100) +
                          "\" has no usable file name");
    }
    path_ = dir_;
    path_.push_back(name);
    workspace::WriteOptions options;
    options.max_bytes = max_file_bytes_;
    options.owner = ws_->Owner();
    auto writer = workspace::BeginWrite(ws_->RootFd(), path_, options);
    if (!writer) return Fs(writer.error());
    writer_.emplace(std::move(*writer));
    return {};
  }

  common::Result<void> OnPartData(std::string_view bytes) override {
    if (!writer_) return {};
    if (auto written = writer_->Write(bytes); !written) return Fs(written.error());
    return {};
  }

  common::Result<void> OnPartEnd() override {
    if (!writer_) return {};
    auto committed = writer_->Commit();
    writer_.reset();
    if (!committed) return Fs(committed.error());
    json entry = PathFields(workspace::DisplayPath(path_));
    entry["size"] = committed->size;
    entry["sha256"] = committed->sha256;
    done_.push_back(std::move(entry));
    return {};
  }

 private:
  common::Result<void> Fs(const workspace::FsError& error) {
    fs_error_ = error;
    return common::Fail(error.message);
  }
  HttpResponse Failure(const common::Error& error) const {
    if (fs_error_) return FsErrorResponse(*fs_error_);
    return ErrorResponse(400, error.message);
  }

  MultipartReader reader_;
  workspace::Components dir_;
  std::uint64_t max_file_bytes_;
  std::string user_;
  std::shared_ptr<sandbox::HostWorkspace> ws_;
  pool::Sessions& sessions_;
  workspace::Components path_;
  std::optional<workspace::AtomicWriter> writer_;
  std::optional<workspace::FsError> fs_error_;
  json done_ = json::array();
};

}  // namespace

bool IsFileRoute(std::string_view path) { return path == "/files" || path == "/files/list"; }

void BeginFormUpload(
    const HttpRequest& head, const RouterConfig& config, pool::Sessions& sessions,
    std::function<void(std::unique_ptr<BodySink>, std::optional<HttpResponse>)> ready) {
  auto query = ParseFileQuery(head, config, workspace::PathUse::kDirectory);
  if (!query) return ready(nullptr, ErrorResponse(400, query.error().message));
  auto boundary = FormBoundary(head.content_type);
  if (!boundary) return ready(nullptr, ErrorResponse(400, boundary.error().message));
  const std::string user = query->user;
  const pool::SessionOptions options = query->session;
  sessions.OpenWorkspace(
      user, options,
      [&config, &sessions, query = std::move(*query), boundary = std::move(*boundary),
       ready = std::move(ready)](pool::WorkspaceGrant grant) {
        if (auto refused = WorkspaceRefusalResponse(grant))
          return ready(nullptr, std::move(*refused));
        ready(std::make_unique<FormUpload>(boundary, query.path, config, query.user,
                                           std::move(grant.workspace), sessions),
              std::nullopt);
      });
}

void HandleFileRequest(const HttpRequest& request, const RouterConfig& config,
                       pool::Sessions& sessions, std::function<void(HttpResponse)> respond) {
  const bool listing = RequestPath(request) == "/files/list";
  auto query = ParseFileQuery(request, config,
                              listing ? workspace::PathUse::kDirectory : workspace::PathUse::kFile);
  if (!query) return respond(ErrorResponse(400, query.error().message));
  const std::string user = query->user;
  const pool::SessionOptions options = query->session;
  sessions.OpenWorkspace(user, options,
                         [&config, &sessions, request, query = std::move(*query), listing,
                          respond = std::move(respond)](pool::WorkspaceGrant grant) {
                           if (auto refused = WorkspaceRefusalResponse(grant))
                             return respond(std::move(*refused));
                           if (listing)
                             return respond(ListDirectory(query, config, *grant.workspace));
                           if (request.method == "DELETE")
                             return respond(Delete(query, *grant.workspace, sessions));
                           respond(Download(query, request, std::move(grant.workspace)));
                         });
}

void BeginFileUpload(
    const HttpRequest& head, const RouterConfig& config, pool::Sessions& sessions,
    std::function<void(std::unique_ptr<BodySink>, std::optional<HttpResponse>)> ready) {
  if (RequestPath(head) == "/files/upload")
    return BeginFormUpload(head, config, sessions, std::move(ready));
  auto query = ParseFileQuery(head, config, workspace::PathUse::kFile);
  if (!query) return ready(nullptr, ErrorResponse(400, query.error().message));
  const std::string user = query->user;
  const pool::SessionOptions options = query->session;
  sessions.OpenWorkspace(
      user, options,
      [&config, &sessions, query = std::move(*query),
       ready = std::move(ready)](pool::WorkspaceGrant grant) {
        if (auto refused = WorkspaceRefusalResponse(grant))
          return ready(nullptr, std::move(*refused));
        workspace::WriteOptions options;
        options.max_bytes = config.max_file_bytes;
        options.owner = grant.workspace->Owner();
        auto writer = workspace::BeginWrite(grant.workspace->RootFd(), query.path, options);
        if (!writer) return ready(nullptr, FsErrorResponse(writer.error()));
        ready(std::make_unique<FileUpload>(std::move(*writer), workspace::DisplayPath(query.path),
                                           query.user, std::move(grant.workspace), sessions),
              std::nullopt);
      });
}

std::uint64_t UploadBodyLimit(const HttpRequest& head, const RouterConfig& config) {
  return RequestPath(head) == "/files/upload" ? config.max_file_bytes + (1u << 20)
                                              : config.max_file_bytes;
}

}  // namespace gateway
