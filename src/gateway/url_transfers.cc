#include "gateway/url_transfers.h"

#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <mutex>

#include "workspace/workspace.h"

namespace gateway {
namespace {

namespace asio = boost::asio;

int StatusFor(const fetch::FetchError& error) {
  switch (error.kind) {
    case fetch::ErrorKind::kRefused:
      return 403;
    case fetch::ErrorKind::kTimeout:
      return 504;
    case fetch::ErrorKind::kTooLarge:
      return 413;
    case fetch::ErrorKind::kInvalid:
      return 422;
    case fetch::ErrorKind::kResolve:
    case fetch::ErrorKind::kConnect:
    case fetch::ErrorKind::kTls:
    case fetch::ErrorKind::kBadStatus:
    case fetch::ErrorKind::kProtocol:
    case fetch::ErrorKind::kCallback:
      return 502;
  }
  return 502;
}

TransferResult Failed(int status, std::string detail) {
  return {.status = status, .detail = std::move(detail), .size = 0};
}

}  // namespace

struct UrlTransfers::Batch {
  std::mutex mu;
  std::vector<TransferResult> results;
  std::size_t left = 0;
  std::function<void(std::vector<TransferResult>)> done;
};

UrlTransfers::UrlTransfers(asio::io_context& io, fetch::Fetcher fetcher, UrlTransferOptions options)
    : io_(io),
      fetcher_(std::move(fetcher)),
      options_(options),
      threads_(std::make_unique<asio::thread_pool>(options.concurrency)) {}

UrlTransfers::~UrlTransfers() { threads_->join(); }

template <typename Item>
bool UrlTransfers::Run(std::shared_ptr<sandbox::HostWorkspace> workspace, std::vector<Item> items,
                       std::function<void(std::vector<TransferResult>)> done,
                       TransferResult (UrlTransfers::*one)(const sandbox::HostWorkspace&,
                                                           const Item&) const) {
  if (items.empty()) {
    asio::post(io_, [done = std::move(done)] { done({}); });
    return true;
  }
  if (queued_.fetch_add(items.size()) + items.size() > options_.max_queued) {
    queued_.fetch_sub(items.size());
    return false;
  }
  auto batch = std::make_shared<Batch>();
  batch->results.resize(items.size());
  batch->left = items.size();
  batch->done = std::move(done);
  auto shared_items = std::make_shared<std::vector<Item>>(std::move(items));
  for (std::size_t i = 0; i < shared_items->size(); ++i) {
    asio::post(*threads_, [this, batch, shared_items, workspace, i, one] {
      TransferResult result = (this->*one)(*workspace, (*shared_items)[i]);
      queued_.fetch_sub(1);
      std::lock_guard lock(batch->mu);
      batch->results[i] = std::move(result);
      if (--batch->left == 0) {
        asio::post(io_, [batch] { batch->done(std::move(batch->results)); });
      }
    });
  }
  return true;
}

bool UrlTransfers::Import(std::shared_ptr<sandbox::HostWorkspace> workspace,
                          std::vector<ImportItem> items,
                          std::function<void(std::vector<TransferResult>)> done) {
  return Run(std::move(workspace), std::move(items), std::move(done), &UrlTransfers::ImportOne);
}

bool UrlTransfers::Export(std::shared_ptr<sandbox::HostWorkspace> workspace,
                          std::vector<ExportItem> items,
                          std::function<void(std::vector<TransferResult>)> done) {
  return Run(std::move(workspace), std::move(items), std::move(done), &UrlTransfers::ExportOne);
}

TransferResult UrlTransfers::ImportOne(const sandbox::HostWorkspace& ws,
                                       const ImportItem& item) const {
  workspace::WriteOptions options;
  options.max_bytes = options_.limits.max_bytes;
  options.owner = ws.Owner();
  auto writer = workspace::BeginWrite(ws.RootFd(), item.path, options);
  if (!writer) return Failed(workspace::HttpStatus(writer.error().code), writer.error().message);
  std::optional<workspace::FsError> sink_error;
  auto fetched = fetcher_.Download(item.url, options_.limits,
                                   [&](std::string_view chunk) -> common::Result<void> {
                                     auto written = writer->Write(chunk);
                                     if (written) return {};
                                     sink_error = written.error();
                                     return common::Fail(written.error().message);
                                   });
  if (!fetched) {
    writer->Abort();
    if (sink_error) return Failed(workspace::HttpStatus(sink_error->code), sink_error->message);
    return Failed(StatusFor(fetched.error()), fetched.error().message);
  }
  auto committed = writer->Commit();
  if (!committed)
    return Failed(workspace::HttpStatus(committed.error().code), committed.error().message);
  spdlog::debug("imported {} bytes from {}", committed->size, item.url.Redacted());
  return {.status = 0, .detail = {}, .size = committed->size};
}

TransferResult UrlTransfers::ExportOne(const sandbox::HostWorkspace& ws,
                                       const ExportItem& item) const {
  auto file = workspace::OpenRegularForRead(ws.RootFd(), item.path);
  if (!file) return Failed(workspace::HttpStatus(file.error().code), file.error().message);
  std::uint64_t offset = 0;
  std::optional<workspace::FsError> source_error;
  const std::uint64_t size = file->size;
  const fetch::Source source = [&](std::span<char> buffer) -> common::Result<std::size_t> {
    const std::uint64_t left = size - offset;
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(left, buffer.size()));
    if (n == 0) return std::size_t{0};
    if (auto read = workspace::ReadExactly(*file, offset, buffer.first(n)); !read) {
      source_error = read.error();  // the kernel shrank the file meanwhile
      return common::Fail(read.error().message);
    }
    offset += n;
    return n;
  };
  const std::string name = item.path.back();
  auto sent =
      item.form ? fetcher_.UploadPostForm(item.url, *item.form, name, size, source, options_.limits)
                : fetcher_.UploadPut(item.url, options_.limits, size, source);
  if (!sent) {
    if (source_error) return Failed(409, source_error->message);
    return Failed(StatusFor(sent.error()), sent.error().message);
  }
  return {.status = 0, .detail = {}, .size = size};
}

}  // namespace gateway
