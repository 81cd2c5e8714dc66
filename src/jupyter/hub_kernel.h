// HubKernel: one kernel as the hub sees it: its link (sockets and read budgets), its key and
// session, and the operations pending on it (becoming ready, one execution, a heartbeat),
// with the Jupyter protocol that moves them on: which messages are read and how far, how an
// interrupt is sent, re-sent and known to be over, when an execution is finished.
// The KernelHub's loop owns one per connected kernel, feeds it socket events and the clock,
// and asks it when its next timer is due; the contracts of the operations are those of
// KernelTransport (kernel_hub.h).
//
// Thread-safety: none; the hub thread owns every HubKernel. Completions and events are
// handed to `post` (they never run on the hub thread).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/crypto.h"
#include "common/log_budget.h"
#include "common/result.h"
#include "jupyter/connection.h"
#include "jupyter/execution.h"
#include "jupyter/hub_options.h"
#include "jupyter/kernel_link.h"

namespace jupyter {

class HubKernel {
 public:
  using Clock = std::chrono::steady_clock;

  // Registers the kernel's sockets with `epoll_fd` and starts connecting. `options` and
  // `post` must outlive the HubKernel.
  HubKernel(KernelId id, const ConnectionInfo& info, const HubOptions& options, const Post& post,
            int epoll_fd);
  ~HubKernel();
  HubKernel(const HubKernel&) = delete;
  HubKernel& operator=(const HubKernel&) = delete;

  // Why the hub cut this kernel off; empty while it is in order. A broken kernel's calls
  // complete at once with that reason.
  const std::string& broken() const { return broken_; }

  void WaitReady(std::chrono::milliseconds timeout, std::function<void(common::Result<void>)> done);
  void Execute(std::string code, OutputLimits limits, EventSink on_event,
               std::function<void(ExecutionResult)> done);
  void Interrupt();
  void Control(std::string_view type, nlohmann::json content);
  void Ping(std::chrono::milliseconds timeout, std::function<void(bool)> done);
  // Everything pending completes as failed with `why` (the kernel is being dropped).
  void FailPending(const std::string& why);

  // Once per loop turn, before waiting: connections retried, rate holds released, probes
  // for readiness sent.
  void OnTimers(Clock::time_point now);
  // When OnTimers or CheckDeadlines next has something to do for this kernel.
  std::optional<Clock::time_point> NextTimer() const;
  // Once per loop turn, after the sockets: what is due fires (readiness and ping timeouts,
  // the wait for an execution's last message, an interrupt sent again).
  void CheckDeadlines(Clock::time_point now);
  // What epoll reported for one of this kernel's sockets, read within its budgets.
  void OnEvent(Channel channel, std::uint32_t events, std::uint64_t turn);

 private:
  struct PendingReady;
  struct PendingExec;
  struct PendingPing;

  void Connect(Clock::time_point now);
  void Break(const std::string& why);
  void SendInterrupt();
  void ResendInterrupt();
  void Send(Channel channel, const Message& message);
  void Deliver(std::function<void()> fn) const { post_(std::move(fn)); }
  EventSink Forward(EventSink sink) const;
  void Warn(std::string_view what);
  void CompletePing(bool ok);
  void SendProbe(Clock::time_point now);

  void OnFrames(Channel channel, const std::vector<std::string>& frames);
  void OnControl(const Message& message);
  void OnShell(const Message& message);
  void OnIopub(const Message& message);
  void MaybeReady();
  void PostponeFinish();
  void MaybeFinishExec();
  void FinishExec();

  const KernelId id_;
  const HubOptions& options_;
  const Post& post_;
  common::HmacKey key_;
  std::string session_;
  std::unique_ptr<KernelLink> link_;
  std::string broken_;
  std::size_t violations_ = 0;
  common::LogBudget log_;
  std::unique_ptr<PendingReady> ready_;
  std::unique_ptr<PendingExec> exec_;
  std::unique_ptr<PendingPing> ping_;
};

}  // namespace jupyter
