#include "jupyter/kernel_hub.h"

#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/log_budget.h"
#include "common/unique_fd.h"
#include "jupyter/kernel_link.h"

namespace jupyter {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kProbeInterval{50};
constexpr milliseconds kProbeResend{2000};

// epoll data of the wake-up eventfd; the kernels' sockets use Token(id, channel).
constexpr std::uint64_t kWakeToken = ~std::uint64_t{0};

struct PendingReady {
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

struct PendingExec {
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
};

struct PendingPing {
  Clock::time_point deadline;
  std::vector<std::function<void(bool)>> waiters;
};

struct Kernel {
  KernelId id = 0;
  common::HmacKey key{""};
  std::string session;
  std::unique_ptr<KernelLink> link;
  std::string broken;  // why the hub cut the kernel off; empty while it is in order
  std::size_t violations = 0;
  common::LogBudget log;
  std::optional<PendingReady> ready;
  std::optional<PendingExec> exec;
  std::optional<PendingPing> ping;
};

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

class KernelHub::Loop {
 public:
  Loop(HubOptions options, Post post)
      : options_(std::move(options)),
        post_(std::move(post)),
        wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
        epoll_(::epoll_create1(EPOLL_CLOEXEC)) {
    if (!wake_.Valid() || !epoll_.Valid()) {
      throw std::system_error(errno, std::generic_category(), "kernel hub: eventfd/epoll");
    }
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = kWakeToken;
    if (::epoll_ctl(epoll_.Get(), EPOLL_CTL_ADD, wake_.Get(), &event) != 0) {
      throw std::system_error(errno, std::generic_category(), "kernel hub: epoll_ctl");
    }
    thread_ = std::thread([this] { Run(); });
  }

  ~Loop() {
    Submit([this] { stopping_ = true; });
    thread_.join();
  }

  void Submit(std::function<void()> command) {
    {
      std::lock_guard lock(mu_);
      commands_.push_back(std::move(command));
    }
    const std::uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_.Get(), &one, sizeof one);
  }

  void DoConnect(KernelId id, const ConnectionInfo& info) {
    auto kernel = std::make_unique<Kernel>();
    kernel->id = id;
    kernel->key = common::HmacKey(info.key);
    kernel->session = NewId();
    kernel->link =
        std::make_unique<KernelLink>(id, info,
                                     LinkBudgets{.max_message_bytes = options_.max_message_bytes,
                                                 .turn_bytes = options_.turn_bytes,
                                                 .bytes_per_second = options_.bytes_per_second},
                                     epoll_.Get());
    Kernel& k = *kernel;
    kernels_[id] = std::move(kernel);
    Connect(k, Clock::now());
  }

  void DoDisconnect(KernelId id) {
    const auto it = kernels_.find(id);
    if (it == kernels_.end()) return;
    FailPending(*it->second, "kernel disconnected");
    kernels_.erase(it);
  }

  void DoWaitReady(KernelId id, milliseconds timeout,
                   std::function<void(common::Result<void>)> done) {
    Kernel* kernel = Find(id);
    if (kernel == nullptr || !kernel->broken.empty()) {
      std::string why = kernel == nullptr ? "unknown kernel" : kernel->broken;
      Deliver([done = std::move(done), why] { done(common::Fail(why)); });
      return;
    }
    const auto now = Clock::now();
    kernel->ready.emplace();
    kernel->ready->deadline = now + timeout;
    kernel->ready->next_probe = now;
    kernel->ready->done = std::move(done);
  }

  void DoExecute(KernelId id, std::string code, OutputLimits limits, EventSink on_event,
                 std::function<void(ExecutionResult)> done) {
    Kernel* kernel = Find(id);
    if (kernel == nullptr || !kernel->broken.empty() || kernel->exec) {
      ExecutionResult result;
      result.disconnected = kernel == nullptr || !kernel->broken.empty();
      if (kernel != nullptr) result.disconnect_reason = kernel->broken;
      result.status = result.disconnected ? "" : "busy";
      Deliver([done = std::move(done), result = std::move(result)]() mutable {
        done(std::move(result));
      });
      return;
    }
    Message request =
        ExecuteRequest(std::move(code), /*silent=*/false, options_.store_history, kernel->session);
    kernel->exec.emplace(
        PendingExec{.msg_id = request.MsgId(),
                    .probe_id = {},
                    .interrupt_id = {},
                    .resend_interrupt_at = std::nullopt,
                    .collector = OutputCollector(limits, Forward(std::move(on_event))),
                    .finish_deadline = std::nullopt,
                    .done = std::move(done)});
    Send(*kernel, Channel::kShell, request);
  }

  void DoInterrupt(KernelId id) {
    Kernel* kernel = Find(id);
    if (kernel == nullptr || !kernel->broken.empty()) return;
    if (!kernel->exec) {
      // Commands run in order, so the execution this was meant for has finished (its result
      // is on its way to the pool): a SIGINT now could only hit the next request.
      spdlog::debug("kernel {}: interrupt after the execution finished; not sent", id);
      return;
    }
    if (!kernel->exec->interrupt_id.empty()) return;  // the last one is still on its way
    SendInterrupt(*kernel);
  }

  void DoControl(KernelId id, std::string_view type, nlohmann::json content) {
    Kernel* kernel = Find(id);
    if (kernel == nullptr) return;
    Send(*kernel, Channel::kControl, MakeRequest(type, std::move(content), kernel->session));
  }

  void DoPing(KernelId id, milliseconds timeout, std::function<void(bool)> done) {
    Kernel* kernel = Find(id);
    if (kernel == nullptr || !kernel->broken.empty()) {
      Deliver([done = std::move(done)] { done(false); });
      return;
    }
    if (kernel->ping) {
      kernel->ping->waiters.push_back(std::move(done));
      return;
    }
    kernel->ping.emplace(PendingPing{.deadline = Clock::now() + timeout, .waiters = {}});
    kernel->ping->waiters.push_back(std::move(done));
    kernel->link->Send(Channel::kHeartbeat, {"ping"});
  }

 private:
  // --- connections ---------------------------------------------------------------------

  void Connect(Kernel& kernel, Clock::time_point now) {
    if (auto ok = kernel.link->Connect(now); !ok) {
      Break(kernel, "cannot connect to the kernel: " + ok.error().message);
    }
  }

  // The hub cuts a kernel off: its sockets close and everything pending fails with `why`.
  void Break(Kernel& kernel, const std::string& why) {
    if (!kernel.broken.empty()) return;
    spdlog::warn("kernel {}: disconnected: {}", kernel.id, why);
    kernel.broken = why;
    FailPending(kernel, why);
    kernel.link->CloseAll();
  }

  // interrupt_request on control and, the first time, the probe behind the execution on shell.
  void SendInterrupt(Kernel& kernel) {
    PendingExec& exec = *kernel.exec;
    Message interrupt = MakeRequest("interrupt_request", nlohmann::json::object(), kernel.session);
    exec.interrupt_id = interrupt.MsgId();
    exec.resend_interrupt_at.reset();
    Send(kernel, Channel::kControl, interrupt);
    if (!exec.probe_id.empty()) return;
    Message probe = MakeRequest("kernel_info_request", nlohmann::json::object(), kernel.session);
    exec.probe_id = probe.MsgId();
    Send(kernel, Channel::kShell, probe);
  }

  // Messages to a closed connection are dropped: the pool finds out through the kernel's
  // exit, a timeout or a missed heartbeat.
  void Send(Kernel& kernel, Channel channel, const Message& message) {
    kernel.link->Send(channel, Encode(message, kernel.key));
  }

  Kernel* Find(KernelId id) {
    const auto it = kernels_.find(id);
    return it == kernels_.end() ? nullptr : it->second.get();
  }

  void Deliver(std::function<void()> fn) { post_(std::move(fn)); }

  // A sink for the hub thread that hands each event to `sink` where completions run.
  EventSink Forward(EventSink sink) {
    if (!sink) return {};
    return [this, sink = std::make_shared<EventSink>(std::move(sink))](
               const ExecutionEvent& event) { Deliver([sink, event] { (*sink)(event); }); };
  }

  // A warning about a kernel, at most a few a second per kernel.
  void Warn(Kernel& kernel, std::string_view what) {
    if (!kernel.log.Allow(Clock::now())) return;
    const std::size_t suppressed = kernel.log.TakeSuppressed();
    if (suppressed == 0) {
      spdlog::warn("kernel {}: {}", kernel.id, what);
    } else {
      spdlog::warn("kernel {}: {} ({} similar lines suppressed)", kernel.id, what, suppressed);
    }
  }

  void FailPending(Kernel& kernel, const std::string& why) {
    if (kernel.ready) {
      Deliver([done = std::move(kernel.ready->done), why] { done(common::Fail(why)); });
      kernel.ready.reset();
    }
    if (kernel.exec) {
      ExecutionResult result = std::move(kernel.exec->collector.result());
      result.disconnected = true;
      result.disconnect_reason = kernel.broken;
      Deliver([done = std::move(kernel.exec->done), result = std::move(result)]() mutable {
        done(std::move(result));
      });
      kernel.exec.reset();
    }
    if (kernel.ping) CompletePing(kernel, false);
  }

  void CompletePing(Kernel& kernel, bool ok) {
    auto waiters = std::move(kernel.ping->waiters);
    kernel.ping.reset();
    for (auto& done : waiters) Deliver([done = std::move(done), ok] { done(ok); });
  }

  // --- the loop ------------------------------------------------------------------------

  void RunCommands() {
    std::vector<std::function<void()>> commands;
    {
      std::lock_guard lock(mu_);
      commands.swap(commands_);
    }
    for (auto& command : commands) command();
  }

  // One turn: commands, timers, then every socket epoll names, each kernel read for at most
  // turn_bytes. Level-triggered: what a turn leaves unread is named again on the next.
  void Run() {
    std::array<epoll_event, 256> events;
    while (true) {
      RunCommands();
      if (stopping_) break;
      ++turn_;
      OnTimers(Clock::now());
      const int timeout = static_cast<int>(NextTimeout().count());
      const int n = ::epoll_wait(epoll_.Get(), events.data(), events.size(), timeout);
      if (n < 0 && errno != EINTR) spdlog::error("epoll_wait failed: {}", std::strerror(errno));
      for (int i = 0; i < n; ++i) {
        const std::uint64_t token = events[i].data.u64;
        if (token == kWakeToken) {
          std::uint64_t count;
          [[maybe_unused]] ssize_t r = ::read(wake_.Get(), &count, sizeof count);
          continue;
        }
        Kernel* kernel = Find(token >> 2);
        if (kernel != nullptr && kernel->broken.empty()) {
          OnEvent(*kernel, static_cast<Channel>(token & 3), events[i].events);
        }
      }
      CheckDeadlines();
    }
    kernels_.clear();
  }

  void OnTimers(Clock::time_point now) {
    for (auto& [id, kernel] : kernels_) {
      if (!kernel->broken.empty()) continue;
      kernel->link->Release(now);
      Connect(*kernel, now);
    }
    SendProbes(now);
  }

  milliseconds NextTimeout() const {
    std::optional<Clock::time_point> next;
    const auto consider = [&](std::optional<Clock::time_point> t) {
      if (t && (!next || *t < *next)) next = t;
    };
    for (const auto& [id, kernel] : kernels_) {
      if (kernel->broken.empty()) consider(kernel->link->NextTimer());
      if (kernel->ready) {
        consider(kernel->ready->deadline);
        consider(kernel->ready->outstanding ? kernel->ready->last_sent + kProbeResend
                                            : kernel->ready->next_probe);
      }
      if (kernel->exec) {
        consider(kernel->exec->finish_deadline);
        consider(kernel->exec->resend_interrupt_at);
      }
      if (kernel->ping) consider(kernel->ping->deadline);
    }
    if (!next) return milliseconds(-1);
    const auto wait = std::chrono::ceil<milliseconds>(*next - Clock::now());
    return std::max(wait, milliseconds(0));
  }

  void SendProbes(Clock::time_point now) {
    for (auto& [id, kernel] : kernels_) {
      auto& ready = kernel->ready;
      if (!ready || (ready->got_reply && ready->got_iopub)) continue;
      const bool due =
          ready->outstanding ? now >= ready->last_sent + kProbeResend : now >= ready->next_probe;
      if (!due) continue;
      Send(*kernel, Channel::kShell,
           MakeRequest("kernel_info_request", nlohmann::json::object(), kernel->session));
      ready->outstanding = true;
      ready->last_sent = now;
    }
  }

  void CheckDeadlines() {
    const auto now = Clock::now();
    for (auto& [id, kernel] : kernels_) {
      if (kernel->ready && now >= kernel->ready->deadline) {
        Deliver([done = std::move(kernel->ready->done)] {
          done(common::Fail("kernel did not become ready in time"));
        });
        kernel->ready.reset();
      }
      if (kernel->exec && kernel->exec->finish_deadline && now >= *kernel->exec->finish_deadline) {
        ExecutionResult& result = kernel->exec->collector.result();
        // Without status: idle, output may still have been on its way: say so.
        if (!result.got_idle) result.truncated = true;
        if (!result.got_reply) {
          // ipykernel goes idle without a reply when it drops a request it cannot handle.
          result.status = "error";
          result.error = ExecutionError{
              "KernelError", "The kernel went idle without replying to the request", {}};
        }
        FinishExec(*kernel);
      }
      if (kernel->exec && kernel->exec->resend_interrupt_at &&
          now >= *kernel->exec->resend_interrupt_at) {
        ResendInterrupt(*kernel);
      }
      if (kernel->ping && now >= kernel->ping->deadline) CompletePing(*kernel, false);
    }
  }

  // The kernel answered an interrupt but the cell runs on as if it had not come: the SIGINT
  // was lost before the cell started (or went to code that swallowed it). Once the cell shows
  // a sign of it, it is not sent again.
  void ResendInterrupt(Kernel& kernel) {
    kernel.exec->resend_interrupt_at.reset();
    if (ShowsSignOfInterrupt(*kernel.exec)) return;
    spdlog::debug("kernel {}: the cell runs on after an interrupt; interrupting again", kernel.id);
    SendInterrupt(kernel);
  }

  // Whether the cell has reacted to an interrupt, or ended anyway: a reply, idle or an error.
  static bool ShowsSignOfInterrupt(PendingExec& exec) {
    const ExecutionResult& result = exec.collector.result();
    return result.got_reply || result.got_idle || result.error;
  }

  // Handles what epoll reported for one of the kernel's sockets, within its budgets.
  void OnEvent(Kernel& kernel, Channel channel, std::uint32_t events) {
    KernelLink::Received received;
    if (auto ok = kernel.link->OnEvent(channel, events, turn_, received); !ok) {
      Break(kernel, ok.error().message);
      return;
    }
    // An execution running while the kernel was held back may miss output the kernel
    // dropped meanwhile, so it says truncated, as when a message was skipped.
    if (received.held_back || received.dropped > 0) MarkTruncated(kernel);
    if (received.dropped > 0) {
      Warn(kernel, "skipped " + std::to_string(received.dropped) + " message(s) over " +
                       std::to_string(options_.max_message_bytes) + " bytes");
    }
    for (const auto& frames : received.messages) {
      if (!kernel.broken.empty()) return;
      OnFrames(kernel, channel, frames);
    }
  }

  void MarkTruncated(Kernel& kernel) {
    if (kernel.exec) kernel.exec->collector.result().truncated = true;
  }

  void OnFrames(Kernel& kernel, Channel channel, const std::vector<std::string>& frames) {
    if (channel == Channel::kHeartbeat) {
      if (kernel.ping) CompletePing(kernel, true);
      return;
    }
    // Only the running execution's messages are read past their headers, and only what some
    // pending operation waits for is verified at all: the rest is dropped unread.
    auto message = Decode(frames, kernel.key, [&kernel](const Message& m) {
      const std::string parent = m.ParentId();
      if (kernel.exec && parent == kernel.exec->msg_id) return Interest::kFull;
      const bool awaited = kernel.exec && !parent.empty() &&
                           (parent == kernel.exec->probe_id || parent == kernel.exec->interrupt_id);
      return kernel.ready || awaited ? Interest::kHeaders : Interest::kNone;
    });
    if (!message) {
      ++kernel.violations;
      if (kernel.violations > options_.max_violations) {
        Break(kernel, "sent " + std::to_string(kernel.violations) +
                          " messages that break the protocol (last: " + message.error().message +
                          ")");
        return;
      }
      Warn(kernel, "rejected message: " + message.error().message);
      return;
    }
    if (!*message) return;  // for no one
    if (channel == Channel::kShell) OnShell(kernel, **message);
    if (channel == Channel::kIopub) OnIopub(kernel, **message);
    if (channel == Channel::kControl) OnControl(kernel, **message);
  }

  // Only an interrupt_reply matters (shutdown_reply needs no action).
  void OnControl(Kernel& kernel, const Message& message) {
    if (!kernel.exec || kernel.exec->interrupt_id.empty() ||
        message.MsgType() != "interrupt_reply" || message.ParentId() != kernel.exec->interrupt_id) {
      return;
    }
    PendingExec& exec = *kernel.exec;
    exec.interrupt_id.clear();
    if (!ShowsSignOfInterrupt(exec))
      exec.resend_interrupt_at = Clock::now() + options_.interrupt_resend;
    MaybeFinishExec(kernel);
  }

  void OnShell(Kernel& kernel, const Message& message) {
    const std::string type = message.MsgType();
    if (type == "kernel_info_reply" && kernel.exec && !kernel.exec->probe_id.empty() &&
        message.ParentId() == kernel.exec->probe_id) {
      // The interrupted execution is over and its reply never came: it was interrupted.
      ExecutionResult& result = kernel.exec->collector.result();
      if (!result.got_reply) {
        spdlog::debug("kernel {}: execute_reply lost to an interrupt; the kernel is idle",
                      kernel.id);
        result.got_reply = true;
        result.status = "error";
        result.error = ExecutionError{"KeyboardInterrupt", "", {}};
      }
      result.got_idle = true;
      MaybeFinishExec(kernel);
    } else if (type == "execute_reply" && kernel.ready && !kernel.ready->warmup_msg_id.empty() &&
               message.ParentId() == kernel.ready->warmup_msg_id) {
      kernel.ready->warmup_msg_id.clear();
      ++kernel.ready->warmed;
      MaybeReady(kernel);
    } else if (type == "kernel_info_reply" && kernel.ready) {
      kernel.ready->got_reply = true;
      kernel.ready->outstanding = false;
      kernel.ready->next_probe = Clock::now() + kProbeInterval;
      MaybeReady(kernel);
    } else if (type == "execute_reply" && kernel.exec &&
               message.ParentId() == kernel.exec->msg_id) {
      kernel.exec->collector.OnReply(message);
      MaybeFinishExec(kernel);
    }
  }

  void OnIopub(Kernel& kernel, const Message& message) {
    if (kernel.ready) {
      kernel.ready->got_iopub = true;
      MaybeReady(kernel);
    }
    if (kernel.exec && message.ParentId() == kernel.exec->msg_id) {
      kernel.exec->collector.OnIopub(message);
      // After the reply, output still coming in (read within the budgets, so possibly well
      // behind the reply) pushes the wait for status: idle back.
      if (kernel.exec->finish_deadline && kernel.exec->collector.result().got_reply) {
        kernel.exec->finish_deadline = Clock::now() + options_.idle_wait;
      }
      MaybeFinishExec(kernel);
    }
  }

  void MaybeReady(Kernel& kernel) {
    PendingReady& ready = *kernel.ready;
    if (!ready.got_reply || !ready.got_iopub || !ready.warmup_msg_id.empty()) return;
    if (ready.warmed < options_.warmup_cells.size()) {
      Message request = ExecuteRequest(options_.warmup_cells[ready.warmed], /*silent=*/true,
                                       /*store_history=*/false, kernel.session);
      ready.warmup_msg_id = request.MsgId();
      Send(kernel, Channel::kShell, request);
      return;
    }
    Deliver([done = std::move(kernel.ready->done)] { done({}); });
    kernel.ready.reset();
  }

  void MaybeFinishExec(Kernel& kernel) {
    const ExecutionResult& result = kernel.exec->collector.result();
    if (result.Complete() && kernel.exec->interrupt_id.empty()) {
      FinishExec(kernel);
    } else if ((result.got_reply || result.got_idle) && !kernel.exec->finish_deadline) {
      kernel.exec->finish_deadline = Clock::now() + options_.idle_wait;
    }
  }

  void FinishExec(Kernel& kernel) {
    ExecutionResult result = std::move(kernel.exec->collector.result());
    Deliver([done = std::move(kernel.exec->done), result = std::move(result)]() mutable {
      done(std::move(result));
    });
    kernel.exec.reset();
  }

  HubOptions options_;
  Post post_;
  common::UniqueFd wake_;
  common::UniqueFd epoll_;
  std::mutex mu_;
  std::vector<std::function<void()>> commands_;  // guarded by mu_
  // Everything below is touched by the hub thread only.
  bool stopping_ = false;
  std::uint64_t turn_ = 0;
  std::unordered_map<KernelId, std::unique_ptr<Kernel>> kernels_;
  std::thread thread_;
};

KernelHub::KernelHub(HubOptions options, Post post)
    : loop_(std::make_unique<Loop>(std::move(options), std::move(post))) {}

KernelHub::~KernelHub() = default;

void KernelHub::Connect(KernelId id, const ConnectionInfo& info) {
  loop_->Submit([loop = loop_.get(), id, info] { loop->DoConnect(id, info); });
}

void KernelHub::Disconnect(KernelId id) {
  loop_->Submit([loop = loop_.get(), id] { loop->DoDisconnect(id); });
}

void KernelHub::WaitReady(KernelId id, milliseconds timeout,
                          std::function<void(common::Result<void>)> done) {
  loop_->Submit([loop = loop_.get(), id, timeout, done = std::move(done)]() mutable {
    loop->DoWaitReady(id, timeout, std::move(done));
  });
}

void KernelHub::Execute(KernelId id, std::string code, OutputLimits limits, EventSink on_event,
                        std::function<void(ExecutionResult)> done) {
  loop_->Submit([loop = loop_.get(), id, code = std::move(code), limits,
                 on_event = std::move(on_event), done = std::move(done)]() mutable {
    loop->DoExecute(id, std::move(code), limits, std::move(on_event), std::move(done));
  });
}

void KernelHub::Interrupt(KernelId id) {
  loop_->Submit([loop = loop_.get(), id] { loop->DoInterrupt(id); });
}

void KernelHub::Shutdown(KernelId id) {
  loop_->Submit([loop = loop_.get(), id] {
    loop->DoControl(id, "shutdown_request", {{"restart", false}});
  });
}

void KernelHub::Ping(KernelId id, milliseconds timeout, std::function<void(bool)> done) {
  loop_->Submit([loop = loop_.get(), id, timeout, done = std::move(done)]() mutable {
    loop->DoPing(id, timeout, std::move(done));
  });
}

}  // namespace jupyter
