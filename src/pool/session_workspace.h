// The workspace of one session as the session table drives it (issue 11): created with the
// session, attached to each worker the session gets (so a replaced kernel finds its files
// again), snapshot around executions for their change lists, removed with the session.
//
// Change lists: a baseline snapshot is taken before an execution when there is none (a new
// worker, or the gateway changed the files: Invalidate), and one after every execution; the
// difference is the execution's change list, and the after-snapshot is the next baseline.
// What the kernel changes between executions (a background thread) is therefore reported
// with the next one, and an upload that lands during an execution is reported with it.
//
// Thread rule: every method, and every callback, on the io thread. Blocking work (creating,
// attaching, snapshots, removal) goes to the blocking executor and reports back by posting;
// a completion that finds its SessionWorkspace destroyed does nothing but what it owes a
// caller (CollectChanges always answers).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pool/pool_config.h"
#include "pool/sessions.h"
#include "sandbox/launcher.h"
#include "workspace/snapshot.h"

namespace boost::asio {
class io_context;
class thread_pool;
}  // namespace boost::asio

namespace pool {

class SessionWorkspace {
 public:
  struct Env {
    boost::asio::io_context& io;
    boost::asio::thread_pool& blocking;
    sandbox::Launcher& launcher;
    const PoolConfig& config;
  };

  // Starts creating the workspace at `path`. `resume` is called whenever something the
  // session waits for is done (created, attached, snapshot taken), to pump its queue again.
  // `bytes`: its size where the backend limits it (the session's workspace_mb).
  SessionWorkspace(Env env, std::filesystem::path path, std::uint64_t bytes,
                   std::function<void()> resume);
  ~SessionWorkspace();  // the workspace is removed on the blocking executor
  SessionWorkspace(const SessionWorkspace&) = delete;
  SessionWorkspace& operator=(const SessionWorkspace&) = delete;

  // Access to the workspace: at once when created, once it is (or refused if it cannot be).
  void Open(std::function<void(WorkspaceGrant)> done);

  struct Failure {
    std::string detail;
    bool worker_broken = false;  // attaching to the worker failed: replace it
  };
  // Whether an execution may start now on `worker`. When not, what is missing is started
  // (attaching the workspace to the worker, the baseline snapshot) and `resume` follows;
  // a failure is returned once (then the session answers its queue with it).
  bool ReadyFor(std::uint64_t worker, const std::shared_ptr<sandbox::Sandbox>& sandbox,
                std::optional<Failure>& failure);

  // After an execution: the changes since the baseline, to `done` (always called, with
  // nullopt when there is no baseline to compare with); the after-snapshot becomes the next
  // baseline. No execution may start (ReadyFor is false) until it completes.
  void CollectChanges(std::function<void(std::optional<workspace::ChangeList>)> done);

  // The gateway changed the files: the next execution takes a fresh baseline first.
  void Invalidate() { baseline_.reset(); }

 private:
  enum class State { kCreating, kReady, kFailed };
  using SnapshotPtr = std::shared_ptr<const workspace::Snapshot>;

  void OnCreated(common::Result<std::shared_ptr<sandbox::HostWorkspace>> created);
  void StartAttach(std::uint64_t worker, std::shared_ptr<sandbox::Sandbox> sandbox);
  void StartBaseline();
  // Runs `work` on the blocking executor and `then` with its result on the io thread, unless
  // this object is gone by then.
  template <typename T>
  void OffThread(std::function<T()> work, std::function<void(T)> then);

  Env env_;
  std::function<void()> resume_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  State state_ = State::kCreating;
  std::string error_;
  std::shared_ptr<sandbox::HostWorkspace> workspace_;
  std::vector<std::function<void(WorkspaceGrant)>> waiting_;
  std::uint64_t attached_ = 0;  // the worker the workspace is attached to
  std::optional<Failure> pending_failure_;
  bool busy_ = false;  // an attach, baseline or collection runs
  SnapshotPtr baseline_;
};

}  // namespace pool
