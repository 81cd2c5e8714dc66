// The kernel hub's vocabulary, shared by the hub (kernel_hub.h) and each kernel it serves
// (hub_kernel.h): how kernels are named, the budgets and timings the hub applies to every
// kernel, and how completions leave the hub thread.
//
// Thread-safety: plain values; HubOptions is read-only once a hub is made.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "jupyter/kernel_setup.h"

namespace jupyter {

using KernelId = std::uint64_t;

// Hands a completion to the thread where completions run (the pool posts it to its Asio
// io_context), so that the hub thread never runs the caller's code.
using Post = std::function<void(std::function<void()>)>;

struct HubOptions {
  // A message whose frames together exceed this is skipped as it arrives.
  std::size_t max_message_bytes = 64u << 20;
  // Bytes read from one kernel per loop turn, and per second on average (with bursts of up
  // to max_message_bytes).
  std::size_t turn_bytes = 256u << 10;
  double bytes_per_second = 64.0 * (1 << 20);
  // Messages failing verification (bad signature, malformed) a kernel may send before it is
  // disconnected.
  std::size_t max_violations = 16;
  // After the kernel answered an interrupt, how long the cell may run on with no sign of it
  // (no reply, no idle, no error) before the interrupt is sent again.
  std::chrono::milliseconds interrupt_resend{500};
  // Once one of execute_reply and the matching status: idle came, how long to wait for the
  // other, counted again from whatever the kernel last sent on shell or iopub (and not while
  // the kernel is held back for its rate).
  std::chrono::milliseconds idle_wait{1000};
  // Whether execute_request asks the kernel to store history (and count executions).
  bool store_history = true;
  // Cells a new kernel runs silently (no history, no execution count, outputs ignored) before
  // WaitReady completes: by default KernelSetupCells(), which pay IPython's one-time costs at
  // start and make interrupts cheap and harmless wherever they land (see kernel_setup.cc).
  std::vector<std::string> warmup_cells = KernelSetupCells();
};

}  // namespace jupyter
