// URL import and export for the /api/v1/files routes: each file is downloaded into the
// workspace (an atomic write: a failed transfer leaves nothing) or read from it and uploaded
// (PUT, or a presigned POST form), with ci_fetch, which is blocking and enforces the request
// forgery policy, TLS verification, no redirects and the size and time limits.
//
// The transfers run on threads of their own, `concurrency` at once across the gateway (a slow
// server cannot take the pool's blocking threads, which kill and start workers); at most
// `max_queued` files wait beyond that, and a batch that would exceed it is refused at once.
// A batch completes when every file of it has, with one result per file in order; `done` is
// posted to the io_context. Thread-safe; the destructor waits for the transfers in flight.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fetch/http_fetch.h"
#include "sandbox/host_workspace.h"
#include "workspace/client_path.h"

namespace boost::asio {
class io_context;
class thread_pool;
}  // namespace boost::asio

namespace gateway {

struct UrlTransferOptions {
  std::size_t concurrency = 8;
  std::size_t max_queued = 1000;
  fetch::Limits limits;  // max_bytes is the per-file limit (--max-file-mb)
};

struct ImportItem {
  fetch::Url url;
  workspace::Components path;  // the file to write
};

struct ExportItem {
  fetch::Url url;
  workspace::Components path;  // the file to send
  // Set: a presigned POST form with these fields (then the file); absent: a PUT.
  std::optional<fetch::FormFields> form;
};

struct TransferResult {
  int status = 0;  // 0: done; else the HTTP status this file's failure maps to
  std::string detail;
  std::uint64_t size = 0;
};

class UrlTransfers {
 public:
  UrlTransfers(boost::asio::io_context& io, fetch::Fetcher fetcher, UrlTransferOptions options);
  ~UrlTransfers();
  UrlTransfers(const UrlTransfers&) = delete;
  UrlTransfers& operator=(const UrlTransfers&) = delete;

  // False (and `done` is not called) when the batch would queue more than max_queued files.
  bool Import(std::shared_ptr<sandbox::HostWorkspace> workspace, std::vector<ImportItem> items,
              std::function<void(std::vector<TransferResult>)> done);
  bool Export(std::shared_ptr<sandbox::HostWorkspace> workspace, std::vector<ExportItem> items,
              std::function<void(std::vector<TransferResult>)> done);

 private:
  struct Batch;
  template <typename Item>
  bool Run(std::shared_ptr<sandbox::HostWorkspace> workspace, std::vector<Item> items,
           std::function<void(std::vector<TransferResult>)> done,
           TransferResult (UrlTransfers::*one)(const sandbox::HostWorkspace&, const Item&) const);
  TransferResult ImportOne(const sandbox::HostWorkspace& workspace, const ImportItem& item) const;
  TransferResult ExportOne(const sandbox::HostWorkspace& workspace, const ExportItem& item) const;

  boost::asio::io_context& io_;
  fetch::Fetcher fetcher_;
  UrlTransferOptions options_;
  std::unique_ptr<boost::asio::thread_pool> threads_;
  std::atomic<std::size_t> queued_{0};
};

}  // namespace gateway
