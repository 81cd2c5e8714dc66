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

#include "common/unique_fd.h"
#include "jupyter/hub_kernel.h"
#include "jupyter/kernel_link.h"

namespace jupyter {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// epoll data of the wake-up eventfd; the kernels' sockets use Token(id, channel).
constexpr std::uint64_t kWakeToken = ~std::uint64_t{0};

}  // namespace

// The hub thread: commands from other threads, one epoll over every kernel's sockets, and
// the turn that hands each kernel its socket events and the clock.
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

  // The commands, on the hub thread.

  void DoConnect(KernelId id, const ConnectionInfo& info) {
    kernels_[id] = std::make_unique<HubKernel>(id, info, options_, post_, epoll_.Get());
  }

  void DoDisconnect(KernelId id) {
    const auto it = kernels_.find(id);
    if (it == kernels_.end()) return;
    it->second->FailPending("kernel disconnected");
    kernels_.erase(it);
  }

  void DoWaitReady(KernelId id, milliseconds timeout,
                   std::function<void(common::Result<void>)> done) {
    if (HubKernel* kernel = Find(id)) return kernel->WaitReady(timeout, std::move(done));
    post_([done = std::move(done)] { done(common::Fail("unknown kernel")); });
  }

  void DoExecute(KernelId id, std::string code, OutputLimits limits, EventSink on_event,
                 std::function<void(ExecutionResult)> done) {
    if (HubKernel* kernel = Find(id)) {
      return kernel->Execute(std::move(code), limits, std::move(on_event), std::move(done));
    }
    post_([done = std::move(done)] {
      ExecutionResult result;
      result.disconnected = true;
      done(std::move(result));
    });
  }

  void DoInterrupt(KernelId id) {
    if (HubKernel* kernel = Find(id)) kernel->Interrupt();
  }

  void DoControl(KernelId id, std::string_view type, nlohmann::json content) {
    if (HubKernel* kernel = Find(id)) kernel->Control(type, std::move(content));
  }

  void DoPing(KernelId id, milliseconds timeout, std::function<void(bool)> done) {
    if (HubKernel* kernel = Find(id)) return kernel->Ping(timeout, std::move(done));
    post_([done = std::move(done)] { done(false); });
  }

 private:
  HubKernel* Find(KernelId id) {
    const auto it = kernels_.find(id);
    return it == kernels_.end() ? nullptr : it->second.get();
  }

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
      const auto now = Clock::now();
      for (auto& [id, kernel] : kernels_) kernel->OnTimers(now);
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
        if (HubKernel* kernel = Find(token >> 2)) {
          kernel->OnEvent(static_cast<Channel>(token & 3), events[i].events, turn_);
        }
      }
      const auto after = Clock::now();
      for (auto& [id, kernel] : kernels_) kernel->CheckDeadlines(after);
    }
    kernels_.clear();
  }

  milliseconds NextTimeout() const {
    std::optional<Clock::time_point> next;
    for (const auto& [id, kernel] : kernels_) {
      const auto t = kernel->NextTimer();
      if (t && (!next || *t < *next)) next = t;
    }
    if (!next) return milliseconds(-1);
    const auto wait = std::chrono::ceil<milliseconds>(*next - Clock::now());
    return std::max(wait, milliseconds(0));
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
  std::unordered_map<KernelId, std::unique_ptr<HubKernel>> kernels_;
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
