#include "jupyter/hub_kernel.h"

#include <spdlog/spdlog.h>

#include <utility>

namespace jupyter {
namespace {

using std::chrono::milliseconds;

constexpr milliseconds kProbeInterval{50};
constexpr milliseconds kProbeResend{2000};

Message ExecuteRequest(std::string code, bool silent, bool store_history,
                       const std::string& session) {
  return MakeRequest("execute_request",
                     {{"code", std::move(code)},
                      {"silent", silent},
                      {"store_history", store_history},
                      {"user_expressions", nlohmann::json::object()},
                      {"allow_stdin", false},
                      // We never queue requests in the kernel (one execution at a time per
                      // worker), so stopping on error buys nothing, and with it ipykernel
                      // aborts requests that arrive before its abort flag is cleared on a
                      // later loop turn.
                      {"stop_on_error", false}},
                     session);
}

}  // namespace

struct HubKernel::PendingReady {
  Clock::time_point deadline;
  Clock::time_point next_probe;
  Clock::time_point last_sent;
  bool outstanding = false;
  bool got_reply = false;
  bool got_iopub = false;
  std::size_t warmed = 0;     // warm-up cells finished
  std::string warmup_msg_id;  // the warm-up cell in flight
  std::function<void(common::Result<void>)> done;
};

struct HubKernel::PendingExec {
  std::string msg_id;
  // After an interrupt: a kernel_info_request sent behind the execution on the shell channel.
  // The kernel handles shell requests in order, so its reply means the execution is over,
  // even when ipykernel lost the execute_reply (an interrupt landing between requests).
  std::string probe_id;
  // After an interrupt: the interrupt_request, until its interrupt_reply came. ipykernel sends
  // itself SIGINT before it replies, so until then the signal may still land in whatever the
  // kernel runs next, such as the session's next request: the execution is not over before
  // (or before the finish deadline).
  std::string interrupt_id;
  // After an interrupt_reply while the cell shows no sign of it (no reply, idle or error):
  // when to send the interrupt again. ipykernel ignores SIGINT outside a request's handler,
  // so an interrupt that lands before the cell's handler starts is lost.
  std::optional<Clock::time_point> resend_interrupt_at;
  OutputCollector collector;
  // Set once one of execute_reply and status: idle came: how long to wait for the other.
  std::optional<Clock::time_point> finish_deadline;
  std::function<void(ExecutionResult)> done;

  // Whether the cell has reacted to an interrupt, or ended anyway: a reply, idle or an error.
  bool ShowsSignOfInterrupt() {
    const ExecutionResult& result = collector.result();
    return result.got_reply || result.got_idle || result.error;
  }
};

struct HubKernel::PendingPing {
  Clock::time_point deadline;
  std::vector<std::function<void(bool)>> waiters;
};

HubKernel::HubKernel(KernelId id, const ConnectionInfo& info, const HubOptions& options,
                     const Post& post, int epoll_fd)
    : id_(id),
      options_(options),
      post_(post),
      key_(info.key),
      session_(NewId()),
      link_(std::make_unique<KernelLink>(id, info,
                                         LinkBudgets{.max_message_bytes = options.max_message_bytes,
                                                     .turn_bytes = options.turn_bytes,
                                                     .bytes_per_second = options.bytes_per_second},
                                         epoll_fd)) {
  Connect(Clock::now());
}

HubKernel::~HubKernel() = default;

// --- operations --------------------------------------------------------------------------

void HubKernel::WaitReady(milliseconds timeout, std::function<void(common::Result<void>)> done) {
  if (!broken_.empty()) {
    Deliver([done = std::move(done), why = broken_] { done(common::Fail(why)); });
    return;
  }
  const auto now = Clock::now();
  ready_ = std::make_unique<PendingReady>();
  ready_->deadline = now + timeout;
  ready_->next_probe = now;
  ready_->done = std::move(done);
}

void HubKernel::Execute(std::string code, OutputLimits limits, EventSink on_event,
                        std::function<void(ExecutionResult)> done) {
  if (!broken_.empty() || exec_) {
    ExecutionResult result;
    result.disconnected = !broken_.empty();
    result.disconnect_reason = broken_;
    result.status = result.disconnected ? "" : "busy";
    Deliver([done = std::move(done), result = std::move(result)]() mutable {
      done(std::move(result));
    });
    return;
  }
  Message request =
      ExecuteRequest(std::move(code), /*silent=*/false, options_.store_history, session_);
  exec_ = std::make_unique<PendingExec>(
      PendingExec{.msg_id = request.MsgId(),
                  .probe_id = {},
                  .interrupt_id = {},
                  .resend_interrupt_at = std::nullopt,
                  .collector = OutputCollector(limits, Forward(std::move(on_event))),
                  .finish_deadline = std::nullopt,
                  .done = std::move(done)});
  Send(Channel::kShell, request);
}

void HubKernel::Interrupt() {
  if (!broken_.empty()) return;
  if (!exec_) {
    // Commands run in order, so the execution this was meant for has finished (its result
    // is on its way to the pool): a SIGINT now could only hit the next request.
    spdlog::debug("kernel {}: interrupt after the execution finished; not sent", id_);
    return;
  }
  if (!exec_->interrupt_id.empty()) return;  // the last one is still on its way
  SendInterrupt();
}

void HubKernel::Control(std::string_view type, nlohmann::json content) {
  Send(Channel::kControl, MakeRequest(type, std::move(content), session_));
}

void HubKernel::Ping(milliseconds timeout, std::function<void(bool)> done) {
  if (!broken_.empty()) {
    Deliver([done = std::move(done)] { done(false); });
    return;
  }
  if (!ping_) {
    ping_ = std::make_unique<PendingPing>(
        PendingPing{.deadline = Clock::now() + timeout, .waiters = {}});
    link_->Send(Channel::kHeartbeat, {"ping"});
  }
  ping_->waiters.push_back(std::move(done));
}

void HubKernel::FailPending(const std::string& why) {
  if (ready_) {
    Deliver([done = std::move(ready_->done), why] { done(common::Fail(why)); });
    ready_.reset();
  }
  if (exec_) {
    ExecutionResult result = std::move(exec_->collector.result());
    result.disconnected = true;
    result.disconnect_reason = broken_;
    Deliver([done = std::move(exec_->done), result = std::move(result)]() mutable {
      done(std::move(result));
    });
    exec_.reset();
  }
  if (ping_) CompletePing(false);
}

// --- connection and sending --------------------------------------------------------------

void HubKernel::Connect(Clock::time_point now) {
  if (auto ok = link_->Connect(now); !ok)
    Break("cannot connect to the kernel: " + ok.error().message);
}

// The hub cuts a kernel off: its sockets close and everything pending fails with `why`.
void HubKernel::Break(const std::string& why) {
  if (!broken_.empty()) return;
  spdlog::warn("kernel {}: disconnected: {}", id_, why);
  broken_ = why;
  FailPending(why);
  link_->CloseAll();
}

// interrupt_request on control and, the first time, the probe behind the execution on shell.
void HubKernel::SendInterrupt() {
  Message interrupt = MakeRequest("interrupt_request", nlohmann::json::object(), session_);
  exec_->interrupt_id = interrupt.MsgId();
  exec_->resend_interrupt_at.reset();
  Send(Channel::kControl, interrupt);
  if (!exec_->probe_id.empty()) return;
  Message probe = MakeRequest("kernel_info_request", nlohmann::json::object(), session_);
  exec_->probe_id = probe.MsgId();
  Send(Channel::kShell, probe);
}

// The kernel answered an interrupt but the cell runs on as if it had not come: the SIGINT
// was lost before the cell started (or went to code that swallowed it). Once the cell shows
// a sign of it, it is not sent again.
void HubKernel::ResendInterrupt() {
  exec_->resend_interrupt_at.reset();
  if (exec_->ShowsSignOfInterrupt()) return;
  spdlog::debug("kernel {}: the cell runs on after an interrupt; interrupting again", id_);
  SendInterrupt();
}

// Messages to a closed connection are dropped: the pool finds out through the kernel's
// exit, a timeout or a missed heartbeat.
void HubKernel::Send(Channel channel, const Message& message) {
  link_->Send(channel, Encode(message, key_));
}

// A sink for the hub thread that hands each event to `sink` where completions run.
EventSink HubKernel::Forward(EventSink sink) const {
  if (!sink) return {};
  return [post = post_, sink = std::make_shared<EventSink>(std::move(sink))](
             const ExecutionEvent& event) { post([sink, event] { (*sink)(event); }); };
}

// A warning about this kernel, at most a few a second.
void HubKernel::Warn(std::string_view what) {
  if (!log_.Allow(Clock::now())) return;
  const std::size_t suppressed = log_.TakeSuppressed();
  if (suppressed == 0) {
    spdlog::warn("kernel {}: {}", id_, what);
  } else {
    spdlog::warn("kernel {}: {} ({} similar lines suppressed)", id_, what, suppressed);
  }
}

void HubKernel::CompletePing(bool ok) {
  auto waiters = std::move(ping_->waiters);
  ping_.reset();
  for (auto& done : waiters) Deliver([done = std::move(done), ok] { done(ok); });
}

// --- timers ------------------------------------------------------------------------------

void HubKernel::OnTimers(Clock::time_point now) {
  if (!broken_.empty()) return;
  link_->Release(now);
  Connect(now);
  SendProbe(now);
}

void HubKernel::SendProbe(Clock::time_point now) {
  if (!ready_ || (ready_->got_reply && ready_->got_iopub)) return;
  const bool due =
      ready_->outstanding ? now >= ready_->last_sent + kProbeResend : now >= ready_->next_probe;
  if (!due) return;
  Send(Channel::kShell, MakeRequest("kernel_info_request", nlohmann::json::object(), session_));
  ready_->outstanding = true;
  ready_->last_sent = now;
}

std::optional<HubKernel::Clock::time_point> HubKernel::NextTimer() const {
  std::optional<Clock::time_point> next;
  const auto consider = [&](std::optional<Clock::time_point> t) {
    if (t && (!next || *t < *next)) next = t;
  };
  if (broken_.empty()) consider(link_->NextTimer());
  if (ready_) {
    consider(ready_->deadline);
    consider(ready_->outstanding ? ready_->last_sent + kProbeResend : ready_->next_probe);
  }
  if (exec_) {
    if (!link_->HeldBack()) consider(exec_->finish_deadline);  // else: the link's timer
    consider(exec_->resend_interrupt_at);
  }
  if (ping_) consider(ping_->deadline);
  return next;
}

void HubKernel::CheckDeadlines(Clock::time_point now) {
  if (ready_ && now >= ready_->deadline) {
    Deliver([done = std::move(ready_->done)] {
      done(common::Fail("kernel did not become ready in time"));
    });
    ready_.reset();
  }
  // While the hub holds the kernel back, what it has not read yet is not the kernel's delay.
  if (exec_ && exec_->finish_deadline && now >= *exec_->finish_deadline && !link_->HeldBack()) {
    ExecutionResult& result = exec_->collector.result();
    // Without status: idle, output may still have been on its way: say so.
    if (!result.got_idle) result.truncated = true;
    if (!result.got_reply) {
      // ipykernel goes idle without a reply when it drops a request it cannot handle.
      result.status = "error";
      result.error =
          ExecutionError{"KernelError", "The kernel went idle without replying to the request", {}};
    }
    FinishExec();
  }
  if (exec_ && exec_->resend_interrupt_at && now >= *exec_->resend_interrupt_at) ResendInterrupt();
  if (ping_ && now >= ping_->deadline) CompletePing(false);
}

// --- what the kernel sends ---------------------------------------------------------------

void HubKernel::OnEvent(Channel channel, std::uint32_t events, std::uint64_t turn) {
  if (!broken_.empty()) return;
  KernelLink::Received received;
  if (auto ok = link_->OnEvent(channel, events, turn, received); !ok) {
    Break(ok.error().message);
    return;
  }
  // An execution running while the kernel was held back may miss output the kernel
  // dropped meanwhile, so it says truncated, as when a message was skipped.
  if ((received.held_back || received.dropped > 0) && exec_) {
    exec_->collector.result().truncated = true;
  }
  // Once one of reply and idle is in, the other may still be on its way behind output read
  // within the budgets: whatever arrives on shell or iopub, however slowly, starts the wait
  // for it again.
  if ((channel == Channel::kShell || channel == Channel::kIopub) && received.bytes > 0) {
    PostponeFinish();
  }
  if (received.dropped > 0) {
    Warn("skipped " + std::to_string(received.dropped) + " message(s) over " +
         std::to_string(options_.max_message_bytes) + " bytes");
  }
  for (const auto& frames : received.messages) {
    if (!broken_.empty()) return;
    OnFrames(channel, frames);
  }
}

void HubKernel::OnFrames(Channel channel, const std::vector<std::string>& frames) {
  if (channel == Channel::kHeartbeat) {
    if (ping_) CompletePing(true);
    return;
  }
  // Only the running execution's messages are read past their headers, and only what some
  // pending operation waits for is verified at all: the rest is dropped unread.
  auto message = Decode(frames, key_, [this](const Message& m) {
    const std::string parent = m.ParentId();
    if (exec_ && parent == exec_->msg_id) return Interest::kFull;
    const bool awaited =
        exec_ && !parent.empty() && (parent == exec_->probe_id || parent == exec_->interrupt_id);
    return ready_ || awaited ? Interest::kHeaders : Interest::kNone;
  });
  if (!message) {
    ++violations_;
    if (violations_ > options_.max_violations) {
      Break("sent " + std::to_string(violations_) +
            " messages that break the protocol (last: " + message.error().message + ")");
      return;
    }
    Warn("rejected message: " + message.error().message);
    return;
  }
  if (!*message) return;  // for no one
  if (channel == Channel::kShell) OnShell(**message);
  if (channel == Channel::kIopub) OnIopub(**message);
  if (channel == Channel::kControl) OnControl(**message);
}

// Only an interrupt_reply matters (shutdown_reply needs no action).
void HubKernel::OnControl(const Message& message) {
  if (!exec_ || exec_->interrupt_id.empty() || message.MsgType() != "interrupt_reply" ||
      message.ParentId() != exec_->interrupt_id) {
    return;
  }
  exec_->interrupt_id.clear();
  if (!exec_->ShowsSignOfInterrupt()) {
    exec_->resend_interrupt_at = Clock::now() + options_.interrupt_resend;
  }
  MaybeFinishExec();
}

void HubKernel::OnShell(const Message& message) {
  const std::string type = message.MsgType();
  if (type == "kernel_info_reply" && exec_ && !exec_->probe_id.empty() &&
      message.ParentId() == exec_->probe_id) {
    // The interrupted execution is over and its reply never came: it was interrupted.
    ExecutionResult& result = exec_->collector.result();
    if (!result.got_reply) {
      spdlog::debug("kernel {}: execute_reply lost to an interrupt; the kernel is idle", id_);
      result.got_reply = true;
      result.status = "error";
      result.error = ExecutionError{"KeyboardInterrupt", "", {}};
    }
    result.got_idle = true;
    MaybeFinishExec();
  } else if (type == "execute_reply" && ready_ && !ready_->warmup_msg_id.empty() &&
             message.ParentId() == ready_->warmup_msg_id) {
    ready_->warmup_msg_id.clear();
    ++ready_->warmed;
    MaybeReady();
  } else if (type == "kernel_info_reply" && ready_) {
    ready_->got_reply = true;
    ready_->outstanding = false;
    ready_->next_probe = Clock::now() + kProbeInterval;
    MaybeReady();
  } else if (type == "execute_reply" && exec_ && message.ParentId() == exec_->msg_id) {
    exec_->collector.OnReply(message);
    MaybeFinishExec();
  }
}

void HubKernel::OnIopub(const Message& message) {
  if (ready_) {
    ready_->got_iopub = true;
    MaybeReady();
  }
  if (exec_ && message.ParentId() == exec_->msg_id) {
    exec_->collector.OnIopub(message);
    MaybeFinishExec();
  }
}

void HubKernel::MaybeReady() {
  PendingReady& ready = *ready_;
  if (!ready.got_reply || !ready.got_iopub || !ready.warmup_msg_id.empty()) return;
  if (ready.warmed < options_.warmup_cells.size()) {
    Message request = ExecuteRequest(options_.warmup_cells[ready.warmed], /*silent=*/true,
                                     /*store_history=*/false, session_);
    ready.warmup_msg_id = request.MsgId();
    Send(Channel::kShell, request);
    return;
  }
  Deliver([done = std::move(ready.done)] { done({}); });
  ready_.reset();
}

// The wait for the last of reply and idle starts again. A kernel that keeps sending can so
// keep its own execution open, up to the execution's timeout (the pool then interrupts it).
void HubKernel::PostponeFinish() {
  if (exec_ && exec_->finish_deadline) {
    exec_->finish_deadline = Clock::now() + options_.idle_wait;
  }
}

void HubKernel::MaybeFinishExec() {
  const ExecutionResult& result = exec_->collector.result();
  if (result.Complete() && exec_->interrupt_id.empty()) {
    FinishExec();
  } else if ((result.got_reply || result.got_idle) && !exec_->finish_deadline) {
    exec_->finish_deadline = Clock::now() + options_.idle_wait;
  }
}

void HubKernel::FinishExec() {
  ExecutionResult result = std::move(exec_->collector.result());
  Deliver([done = std::move(exec_->done), result = std::move(result)]() mutable {
    done(std::move(result));
  });
  exec_.reset();
}

}  // namespace jupyter
