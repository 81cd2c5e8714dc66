#include "jupyter/kernel_hub.h"

#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <vector>
#include <zmq.hpp>

#include "common/unique_fd.h"

namespace jupyter {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kProbeInterval{50};
constexpr milliseconds kProbeResend{2000};
constexpr std::size_t kMaxFrames = 256;

enum class Channel { kShell, kControl, kIopub, kHeartbeat };
constexpr std::array kChannels{Channel::kShell, Channel::kControl, Channel::kIopub,
                               Channel::kHeartbeat};

// epoll data for a socket: the kernel id and the channel, so an event names its socket
// without a pointer that could outlive the kernel. The wake-up eventfd uses kWakeToken.
constexpr std::uint64_t kWakeToken = ~std::uint64_t{0};
std::uint64_t Token(KernelId id, Channel channel) {
  return (id << 2) | static_cast<std::uint64_t>(channel);
}

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
  OutputCollector collector;
  std::optional<Clock::time_point> idle_deadline;
  std::function<void(ExecutionResult)> done;
};

struct PendingPing {
  Clock::time_point deadline;
  std::vector<std::function<void(bool)>> waiters;
};

struct Kernel {
  KernelId id = 0;
  std::string key;
  std::string session;
  zmq::socket_t shell;
  zmq::socket_t control;
  zmq::socket_t iopub;
  zmq::socket_t hb;
  std::optional<PendingReady> ready;
  std::optional<PendingExec> exec;
  std::optional<PendingPing> ping;

  zmq::socket_t& Socket(Channel channel) {
    switch (channel) {
      case Channel::kShell:
        return shell;
      case Channel::kControl:
        return control;
      case Channel::kIopub:
        return iopub;
      case Channel::kHeartbeat:
        return hb;
    }
    return hb;
  }
};

// Reads one multipart message without blocking. nullopt: nothing to read. An empty vector:
// a message was read but dropped for exceeding the caps.
std::optional<std::vector<std::string>> RecvFrames(zmq::socket_t& socket, std::size_t max_bytes) {
  std::vector<std::string> frames;
  std::size_t total = 0;
  bool overflow = false;
  while (true) {
    zmq::message_t part;
    const auto got = socket.recv(part, zmq::recv_flags::dontwait);
    if (!got) return frames.empty() && !overflow ? std::nullopt : std::optional(std::move(frames));
    total += part.size();
    if (!overflow && (total > max_bytes || frames.size() >= kMaxFrames)) {
      overflow = true;
      frames.clear();
    }
    if (!overflow) frames.emplace_back(static_cast<const char*>(part.data()), part.size());
    if (!part.more()) break;
  }
  if (overflow) frames.clear();
  return frames;
}

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

bool SendFrames(zmq::socket_t& socket, const std::vector<std::string>& frames) {
  try {
    for (std::size_t i = 0; i < frames.size(); ++i) {
      const auto flags = zmq::send_flags::dontwait |
                         (i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
      if (!socket.send(zmq::buffer(frames[i]), flags)) return false;
    }
    return true;
  } catch (const zmq::error_t& e) {
    spdlog::warn("zmq send failed: {}", e.what());
    return false;
  }
}

}  // namespace

class KernelHub::Loop {
 public:
  Loop(HubOptions options, Post post)
      : options_(options),
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
    kernel->key = info.key;
    kernel->session = NewId();
    try {
      kernel->shell = MakeSocket(zmq::socket_type::dealer, info.ShellEndpoint());
      kernel->control = MakeSocket(zmq::socket_type::dealer, info.ControlEndpoint());
      kernel->iopub = MakeSocket(zmq::socket_type::sub, info.IopubEndpoint());
      kernel->hb = MakeSocket(zmq::socket_type::req, info.HeartbeatEndpoint());
      for (const Channel channel : kChannels) Watch(*kernel, channel, EPOLL_CTL_ADD);
    } catch (const std::exception& e) {
      spdlog::error("kernel {}: cannot create sockets: {}", id, e.what());
      for (const Channel channel : kChannels) Watch(*kernel, channel, EPOLL_CTL_DEL);
      return;  // WaitReady on this id will fail: unknown kernel
    }
    kernels_[id] = std::move(kernel);
  }

  void DoDisconnect(KernelId id) {
    const auto it = kernels_.find(id);
    if (it == kernels_.end()) return;
    FailPending(*it->second, "kernel disconnected");
    // Before the sockets close: ZeroMQ closes their notification fds later, on its own thread.
    for (const Channel channel : kChannels) Watch(*it->second, channel, EPOLL_CTL_DEL);
    kernels_.erase(it);
  }

  void DoWaitReady(KernelId id, milliseconds timeout,
                   std::function<void(common::Result<void>)> done) {
    Kernel* kernel = Find(id);
    if (kernel == nullptr) {
      Deliver([done = std::move(done)] { done(common::Fail("unknown kernel")); });
      return;
    }
    const auto now = Clock::now();
    kernel->ready.emplace();
    kernel->ready->deadline = now + timeout;
    kernel->ready->next_probe = now;
    kernel->ready->done = std::move(done);
  }

  void DoExecute(KernelId id, std::string code, OutputLimits limits,
                 std::function<void(ExecutionResult)> done) {
    Kernel* kernel = Find(id);
    if (kernel == nullptr || kernel->exec) {
      ExecutionResult result;
      result.disconnected = kernel == nullptr;
      result.status = kernel == nullptr ? "" : "busy";
      Deliver([done = std::move(done), result = std::move(result)]() mutable {
        done(std::move(result));
      });
      return;
    }
    Message request =
        ExecuteRequest(std::move(code), /*silent=*/false, options_.store_history, kernel->session);
    kernel->exec.emplace(
        PendingExec{request.MsgId(), {}, OutputCollector(limits), std::nullopt, std::move(done)});
    if (!Send(*kernel, Channel::kShell, Encode(request, kernel->key))) {
      spdlog::warn("kernel {}: execute_request could not be queued", id);
    }
  }

  void DoInterrupt(KernelId id) {
    DoControl(id, "interrupt_request", nlohmann::json::object());
    Kernel* kernel = Find(id);
    if (kernel == nullptr || !kernel->exec || !kernel->exec->probe_id.empty()) return;
    Message probe = MakeRequest("kernel_info_request", nlohmann::json::object(), kernel->session);
    kernel->exec->probe_id = probe.MsgId();
    Send(*kernel, Channel::kShell, Encode(probe, kernel->key));
  }

  void DoControl(KernelId id, std::string_view type, nlohmann::json content) {
    Kernel* kernel = Find(id);
    if (kernel == nullptr) return;
    Send(*kernel, Channel::kControl,
         Encode(MakeRequest(type, std::move(content), kernel->session), kernel->key));
  }

  void DoPing(KernelId id, milliseconds timeout, std::function<void(bool)> done) {
    Kernel* kernel = Find(id);
    if (kernel == nullptr) {
      Deliver([done = std::move(done)] { done(false); });
      return;
    }
    if (kernel->ping) {
      kernel->ping->waiters.push_back(std::move(done));
      return;
    }
    kernel->ping.emplace(PendingPing{.deadline = Clock::now() + timeout, .waiters = {}});
    kernel->ping->waiters.push_back(std::move(done));
    if (!Send(*kernel, Channel::kHeartbeat, {"ping"})) CompletePing(*kernel, false);
  }

 private:
  zmq::socket_t MakeSocket(zmq::socket_type type, const std::string& endpoint) {
    zmq::socket_t socket(context_, type);
    socket.set(zmq::sockopt::linger, 0);
    socket.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(options_.max_message_bytes));
    socket.set(zmq::sockopt::reconnect_ivl, 10);
    if (type == zmq::socket_type::sub) socket.set(zmq::sockopt::subscribe, "");
    if (type == zmq::socket_type::req) {
      socket.set(zmq::sockopt::req_relaxed, 1);
      socket.set(zmq::sockopt::req_correlate, 1);
    }
    socket.connect(endpoint);
    return socket;
  }

  // Registers (or removes) a socket's notification fd with epoll. ZMQ_FD only says that
  // the socket's state may have changed; ZMQ_EVENTS tells whether a message is waiting.
  void Watch(Kernel& kernel, Channel channel, int op) {
    zmq::socket_t& socket = kernel.Socket(channel);
    if (!socket) return;
    const int fd = socket.get(zmq::sockopt::fd);
    epoll_event event{};
    event.events = EPOLLIN;
    event.data.u64 = Token(kernel.id, channel);
    if (::epoll_ctl(epoll_.Get(), op, fd, &event) != 0 && op == EPOLL_CTL_ADD) {
      throw std::system_error(errno, std::generic_category(), "epoll_ctl");
    }
    if (op == EPOLL_CTL_ADD) recheck_.emplace_back(kernel.id, channel);
  }

  // Sending may consume the notification of a message that arrived meanwhile (ZeroMQ
  // processes pending commands on send), so the socket is read again before blocking.
  bool Send(Kernel& kernel, Channel channel, const std::vector<std::string>& frames) {
    const bool sent = SendFrames(kernel.Socket(channel), frames);
    recheck_.emplace_back(kernel.id, channel);
    return sent;
  }

  Kernel* Find(KernelId id) {
    const auto it = kernels_.find(id);
    return it == kernels_.end() ? nullptr : it->second.get();
  }

  void Deliver(std::function<void()> fn) { post_(std::move(fn)); }

  void FailPending(Kernel& kernel, const std::string& why) {
    if (kernel.ready) {
      Deliver([done = std::move(kernel.ready->done), why] { done(common::Fail(why)); });
      kernel.ready.reset();
    }
    if (kernel.exec) {
      ExecutionResult result = std::move(kernel.exec->collector.result());
      result.disconnected = true;
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

  void RunCommands() {
    std::vector<std::function<void()>> commands;
    {
      std::lock_guard lock(mu_);
      commands.swap(commands_);
    }
    for (auto& command : commands) command();
  }

  // Each wake-up costs O(sockets with traffic), not O(kernels): only the sockets epoll
  // names, plus the ones written to since the last turn, are read.
  void Run() {
    std::array<epoll_event, 64> events;
    std::vector<std::pair<KernelId, Channel>> work;
    while (true) {
      RunCommands();
      if (stopping_) break;
      SendProbes();
      const int timeout = recheck_.empty() ? static_cast<int>(NextTimeout().count()) : 0;
      const int n = ::epoll_wait(epoll_.Get(), events.data(), events.size(), timeout);
      if (n < 0 && errno != EINTR) spdlog::error("epoll_wait failed: {}", std::strerror(errno));
      work.swap(recheck_);
      for (int i = 0; i < n; ++i) {
        const std::uint64_t token = events[i].data.u64;
        if (token == kWakeToken) {
          std::uint64_t count;
          [[maybe_unused]] ssize_t r = ::read(wake_.Get(), &count, sizeof count);
          continue;
        }
        work.emplace_back(token >> 2, static_cast<Channel>(token & 3));
      }
      for (const auto& [id, channel] : work) {
        Kernel* kernel = Find(id);
        if (kernel != nullptr && Drain(*kernel, channel)) recheck_.emplace_back(id, channel);
      }
      work.clear();
      CheckDeadlines();
    }
    kernels_.clear();
  }

  milliseconds NextTimeout() const {
    std::optional<Clock::time_point> next;
    const auto consider = [&](Clock::time_point t) {
      if (!next || t < *next) next = t;
    };
    for (const auto& [id, kernel] : kernels_) {
      if (kernel->ready) {
        consider(kernel->ready->deadline);
        consider(kernel->ready->outstanding ? kernel->ready->last_sent + kProbeResend
                                            : kernel->ready->next_probe);
      }
      if (kernel->exec && kernel->exec->idle_deadline) consider(*kernel->exec->idle_deadline);
      if (kernel->ping) consider(kernel->ping->deadline);
    }
    if (!next) return milliseconds(-1);
    const auto wait = std::chrono::ceil<milliseconds>(*next - Clock::now());
    return std::max(wait, milliseconds(0));
  }

  void SendProbes() {
    const auto now = Clock::now();
    for (auto& [id, kernel] : kernels_) {
      auto& ready = kernel->ready;
      if (!ready || (ready->got_reply && ready->got_iopub)) continue;
      const bool due =
          ready->outstanding ? now >= ready->last_sent + kProbeResend : now >= ready->next_probe;
      if (!due) continue;
      Send(*kernel, Channel::kShell,
           Encode(MakeRequest("kernel_info_request", nlohmann::json::object(), kernel->session),
                  kernel->key));
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
      if (kernel->exec && kernel->exec->idle_deadline && now >= *kernel->exec->idle_deadline) {
        FinishExec(*kernel);
      }
      if (kernel->ping && now >= kernel->ping->deadline) CompletePing(*kernel, false);
    }
  }

  // Reads what the socket has. True when it stopped at the per-turn bound with messages
  // possibly left (then the caller reads it again on the next turn).
  bool Drain(Kernel& kernel, Channel channel) {
    zmq::socket_t& socket = kernel.Socket(channel);
    // Bounded per turn so one chatty kernel cannot starve the others.
    for (int n = 0; n < 256; ++n) {
      std::optional<std::vector<std::string>> frames;
      try {
        // Also keeps a REQ socket from a recv it would refuse (EFSM) with no reply due.
        if (!(socket.get(zmq::sockopt::events) & ZMQ_POLLIN)) return false;
        frames = RecvFrames(socket, options_.max_message_bytes);
      } catch (const zmq::error_t& e) {
        spdlog::warn("kernel {}: recv failed: {}", kernel.id, e.what());
        return false;
      }
      if (!frames) return false;
      if (frames->empty()) {
        spdlog::warn("kernel {}: dropped an oversized message", kernel.id);
        continue;
      }
      if (channel == Channel::kHeartbeat) {
        if (kernel.ping) CompletePing(kernel, true);
        return false;  // a REQ socket refuses (EFSM) another recv before the next send
      }
      auto message = Decode(*frames, kernel.key);
      if (!message) {
        spdlog::warn("kernel {}: rejected message: {}", kernel.id, message.error().message);
        continue;
      }
      if (channel == Channel::kShell) OnShell(kernel, *message);
      if (channel == Channel::kIopub) OnIopub(kernel, *message);
      // Control replies (interrupt_reply, shutdown_reply) need no action.
    }
    return true;
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
        result.got_idle = true;
        result.status = "error";
        result.error = ExecutionError{"KeyboardInterrupt", "", {}};
      }
      result.got_idle = true;
      FinishExec(kernel);
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
      if (!kernel.exec->collector.result().got_idle) {
        kernel.exec->idle_deadline = Clock::now() + options_.idle_wait;
      }
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
      Send(kernel, Channel::kShell, Encode(request, kernel.key));
      return;
    }
    Deliver([done = std::move(kernel.ready->done)] { done({}); });
    kernel.ready.reset();
  }

  void MaybeFinishExec(Kernel& kernel) {
    if (kernel.exec->collector.result().Complete()) FinishExec(kernel);
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
  zmq::context_t context_{1};
  std::mutex mu_;
  std::vector<std::function<void()>> commands_;  // guarded by mu_
  // Everything below is touched by the hub thread only.
  bool stopping_ = false;
  // Sockets to read on the next turn whatever epoll says (see Send).
  std::vector<std::pair<KernelId, Channel>> recheck_;
  std::unordered_map<KernelId, std::unique_ptr<Kernel>> kernels_;
  std::thread thread_;
};

KernelHub::KernelHub(HubOptions options, Post post)
    : loop_(std::make_unique<Loop>(options, std::move(post))) {}

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

void KernelHub::Execute(KernelId id, std::string code, OutputLimits limits,
                        std::function<void(ExecutionResult)> done) {
  loop_->Submit(
      [loop = loop_.get(), id, code = std::move(code), limits, done = std::move(done)]() mutable {
        loop->DoExecute(id, std::move(code), limits, std::move(done));
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
