// KernelHub: one thread that owns the ZeroMQ sockets of every kernel (shell, control and
// iopub DEALER/SUB sockets plus a heartbeat REQ) and speaks the Jupyter protocol on them.
//
// Thread-safety: every public method may be called from any thread; it queues a command
// and wakes the hub thread. Completion callbacks never run on the caller's stack: they are
// handed to the `Post` function given at construction (the pool posts them to its Asio
// io_context), so the hub thread never runs pool code.
//
// Hostile-kernel rules: a message is attributed to a kernel by the socket it arrived on,
// never by its contents; it must carry a valid HMAC; only messages whose parent is the
// request in flight are looked at. Everything a kernel sends is budgeted as it arrives: a
// message over `max_message_bytes` (all frames together) is skipped without being held; a
// kernel is read at most `turn_bytes` per loop turn (so one kernel's flood delays another's
// messages, interrupts and deadlines by one bounded turn at most) and `bytes_per_second` on
// average; an execution during which anything was skipped or held back says `truncated`.
// A kernel that breaks the framing, or keeps sending messages that fail verification past
// `max_violations`, is disconnected and its pending operations told why; what the hub logs
// about one kernel is limited to a few lines a second.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "common/result.h"
#include "jupyter/connection.h"
#include "jupyter/execution.h"
#include "jupyter/hub_options.h"

namespace jupyter {

// The interface the pool talks to; KernelHub implements it over ZeroMQ, tests fake it.
class KernelTransport {
 public:
  virtual ~KernelTransport() = default;

  // Connects sockets to a kernel that is (or soon will be) listening at `info`.
  virtual void Connect(KernelId id, const ConnectionInfo& info) = 0;
  // Closes the kernel's sockets. Pending operations complete: WaitReady with an error,
  // Execute with `disconnected`, Ping with false. The hub disconnects a kernel on its own
  // when the kernel closes a connection or breaks the protocol; later calls then fail the
  // same way, and `ExecutionResult::disconnect_reason` says why.
  virtual void Disconnect(KernelId id) = 0;
  // Completes once a kernel_info_reply arrived on shell, an iopub message was seen (iopub
  // is connected) and the warm-up cells ran, or with an error after `timeout`.
  virtual void WaitReady(KernelId id, std::chrono::milliseconds timeout,
                         std::function<void(common::Result<void>)> done) = 0;
  // Sends execute_request; completes when execute_reply and status: idle have arrived
  // (once the other came, each waited for until the kernel sent nothing on shell or iopub
  // for HubOptions::idle_wait: ipykernel goes idle without a reply for requests it drops,
  // and the result then says why, or truncated when idle is missing), or on Disconnect. One at a
  // time per kernel: a second call while one runs completes at once with an error status "busy".
  // `on_event` (may be empty) gets each event of the execution as it is made (events.h), on
  // the thread `done` runs on and in order, all of them before `done`.
  virtual void Execute(KernelId id, std::string code, OutputLimits limits, EventSink on_event,
                       std::function<void(ExecutionResult)> done) = 0;
  // Interrupts the running Execute: sends interrupt_request on control, and behind the
  // execution a kernel_info_request on shell whose reply stands in for an execute_reply that
  // ipykernel lost to the interrupt. The Execute then completes as usual, but not before the
  // kernel's interrupt_reply (or idle_wait after its reply and idle): ipykernel signals itself
  // before that reply, and until then the SIGINT could land in the next request. ipykernel
  // ignores SIGINT outside a request's handler, so an interrupt landing just before the cell
  // starts is lost: while the cell then shows no sign of it, the interrupt is sent again every
  // HubOptions::interrupt_resend after each interrupt_reply. With no Execute running (it
  // finished before the command ran), nothing is sent; while one interrupt awaits its reply,
  // another call adds nothing.
  virtual void Interrupt(KernelId id) = 0;
  // Sends shutdown_request on control (best effort, no reply awaited).
  virtual void Shutdown(KernelId id) = 0;
  // Heartbeat round trip; true when the kernel echoed within `timeout`.
  virtual void Ping(KernelId id, std::chrono::milliseconds timeout,
                    std::function<void(bool)> done) = 0;
};

class KernelHub final : public KernelTransport {
 public:
  using Post = jupyter::Post;

  KernelHub(HubOptions options, Post post);
  ~KernelHub() override;  // disconnects every kernel, then joins the thread
  KernelHub(const KernelHub&) = delete;
  KernelHub& operator=(const KernelHub&) = delete;

  void Connect(KernelId id, const ConnectionInfo& info) override;
  void Disconnect(KernelId id) override;
  void WaitReady(KernelId id, std::chrono::milliseconds timeout,
                 std::function<void(common::Result<void>)> done) override;
  void Execute(KernelId id, std::string code, OutputLimits limits, EventSink on_event,
               std::function<void(ExecutionResult)> done) override;
  void Interrupt(KernelId id) override;
  void Shutdown(KernelId id) override;
  void Ping(KernelId id, std::chrono::milliseconds timeout,
            std::function<void(bool)> done) override;

 private:
  class Loop;
  std::unique_ptr<Loop> loop_;
};

}  // namespace jupyter
