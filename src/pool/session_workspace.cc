#include "pool/session_workspace.h"

#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

namespace pool {
namespace {

namespace asio = boost::asio;

workspace::SnapshotLimits Limits(const PoolConfig& config) {
  workspace::SnapshotLimits limits;
  limits.max_entries = config.snapshot_max_entries;
  return limits;
}

}  // namespace

template <typename T>
void SessionWorkspace::OffThread(std::function<T()> work, std::function<void(T)> then) {
  asio::post(env_.blocking, [io = &env_.io, alive = std::weak_ptr<bool>(alive_),
                             work = std::move(work), then = std::move(then)]() mutable {
    auto result = std::make_shared<T>(work());
    asio::post(*io, [alive, then = std::move(then), result] {
      if (alive.lock()) then(std::move(*result));
    });
  });
}

SessionWorkspace::SessionWorkspace(Env env, std::filesystem::path path, std::uint64_t bytes,
                                   std::function<void()> resume)
    : env_(env), resume_(std::move(resume)) {
  using Created = common::Result<std::shared_ptr<sandbox::HostWorkspace>>;
  // Created even if this object is gone by then: the completion removes it in that case.
  asio::post(env_.blocking,
             [io = &env_.io, blocking = &env_.blocking, launcher = &env_.launcher,
              alive = std::weak_ptr<bool>(alive_), path = std::move(path), bytes, this] {
               auto created = std::make_shared<Created>(launcher->CreateWorkspace(path, bytes));
               asio::post(*io, [alive, blocking, created, this] {
                 if (alive.lock()) return OnCreated(std::move(*created));
                 if (*created) asio::post(*blocking, [ws = **created] { ws->Remove(); });
               });
             });
}

SessionWorkspace::~SessionWorkspace() {
  *alive_ = false;
  alive_.reset();
  for (auto& done : waiting_) {
    done({.workspace = nullptr,
          .refusal = WorkspaceRefusal::kShuttingDown,
          .detail = "The session ended before its workspace was ready",
          .retry_after_seconds = 1});
  }
  if (workspace_) asio::post(env_.blocking, [ws = std::move(workspace_)] { ws->Remove(); });
}

void SessionWorkspace::OnCreated(common::Result<std::shared_ptr<sandbox::HostWorkspace>> created) {
  if (created) {
    state_ = State::kReady;
    workspace_ = std::move(*created);
  } else {
    state_ = State::kFailed;
    error_ = "Could not create the session's workspace: " + created.error().message;
    spdlog::error("{}", error_);
  }
  std::vector<std::function<void(WorkspaceGrant)>> waiting = std::move(waiting_);
  waiting_.clear();
  for (auto& done : waiting) Open(std::move(done));
  resume_();
}

void SessionWorkspace::Open(std::function<void(WorkspaceGrant)> done) {
  switch (state_) {
    case State::kCreating:
      waiting_.push_back(std::move(done));
      return;
    case State::kReady:
      return done({.workspace = workspace_,
                   .refusal = WorkspaceRefusal::kNone,
                   .detail = {},
                   .retry_after_seconds = 0});
    case State::kFailed:
      return done({.workspace = nullptr,
                   .refusal = WorkspaceRefusal::kFailed,
                   .detail = error_,
                   .retry_after_seconds = env_.config.retry_after_seconds});
  }
}

bool SessionWorkspace::ReadyFor(std::uint64_t worker,
                                const std::shared_ptr<sandbox::Sandbox>& sandbox,
                                std::optional<Failure>& failure) {
  if (pending_failure_) {
    failure = std::exchange(pending_failure_, std::nullopt);
    return false;
  }
  if (busy_ || state_ == State::kCreating) return false;
  if (state_ == State::kFailed) {
    failure = Failure{error_, false};
    return false;
  }
  if (attached_ != worker) {
    if (!sandbox) {
      failure = Failure{"The session's worker is gone", true};
      return false;
    }
    StartAttach(worker, sandbox);
    return false;
  }
  if (!baseline_) {
    StartBaseline();
    return false;
  }
  return true;
}

void SessionWorkspace::StartAttach(std::uint64_t worker,
                                   std::shared_ptr<sandbox::Sandbox> sandbox) {
  busy_ = true;
  baseline_.reset();  // what the previous kernel left is looked at afresh
  OffThread<common::Result<void>>(
      [sandbox = std::move(sandbox), ws = workspace_] { return sandbox->AttachWorkspace(*ws); },
      [this, worker](common::Result<void> attached) {
        busy_ = false;
        if (attached) {
          attached_ = worker;
        } else {
          spdlog::error("cannot attach workspace {}: {}", workspace_->Path().string(),
                        attached.error().message);
          pending_failure_ = Failure{
              "Could not attach the session's workspace to its kernel: " + attached.error().message,
              true};
        }
        resume_();
      });
}

void SessionWorkspace::StartBaseline() {
  busy_ = true;
  OffThread<SnapshotPtr>(
      [ws = workspace_, limits = Limits(env_.config)]() -> SnapshotPtr {
        auto taken = workspace::TakeSnapshot(ws->RootFd(), limits);
        if (!taken) return std::make_shared<workspace::Snapshot>();  // an empty, incomplete one
        return std::make_shared<workspace::Snapshot>(std::move(*taken));
      },
      [this](SnapshotPtr snapshot) {
        busy_ = false;
        baseline_ = std::move(snapshot);
        resume_();
      });
}

void SessionWorkspace::CollectChanges(
    std::function<void(std::optional<workspace::ChangeList>)> done) {
  if (state_ != State::kReady || !baseline_) return done(std::nullopt);
  busy_ = true;
  struct Collected {
    SnapshotPtr after;
    workspace::ChangeList changes;
  };
  // Not through OffThread: `done` is owed an answer even if this object is gone.
  asio::post(env_.blocking, [io = &env_.io, alive = std::weak_ptr<bool>(alive_), ws = workspace_,
                             before = baseline_, limits = Limits(env_.config),
                             max_changes = env_.config.max_file_changes, done = std::move(done),
                             this]() mutable {
    auto collected = std::make_shared<Collected>();
    auto taken = workspace::TakeSnapshot(ws->RootFd(), limits);
    if (taken) {
      collected->after = std::make_shared<workspace::Snapshot>(std::move(*taken));
      collected->changes = workspace::Diff(*before, *collected->after, max_changes);
    } else {
      collected->changes.truncated = true;  // the workspace could not be read
    }
    asio::post(*io, [alive, collected, done = std::move(done), this] {
      if (alive.lock()) {
        busy_ = false;
        baseline_ = collected->after;  // null when unreadable: a fresh baseline next time
      }
      done(std::move(collected->changes));
      if (alive.lock()) resume_();
    });
  });
}

}  // namespace pool
