#include "jupyter/kernel_setup.h"

namespace jupyter {
namespace {

// A first execution and a first traceback cost IPython ~80 ms of CPU (imports, the lexer,
// parsing interactiveshell.py for tracebacks): paid here.
constexpr const char* kFirstTraceback = "1/0";

// The traceback above leaves its traces in `sys`.
constexpr const char* kForgetFirstTraceback =
    "[__import__('sys').__dict__.pop(name, None)"
    " for name in ('last_type', 'last_value', 'last_traceback', 'last_exc')]";

// An interrupt (interrupt_request: ipykernel sends itself SIGINT) often lands in IPython's or
// ipykernel's own code around a cell rather than in the cell, e.g. in the displayhook turning a
// finished cell's value into its result when a client hangs up on a trivial request.
//
// The KeyboardInterrupt's traceback then runs through library frames, and IPython formats
// each of them with stack_data: it parses and highlights the frame's whole source file
// (displayhook.py, formatters.py, pretty.py, jupyter_client's session.py, ...), ~0.5 s of
// CPU in a fresh kernel and seconds of wall time on a busy host, which outlasted the
// gateway's grace and cost sessions their kernel. A KeyboardInterrupt's traceback shows
// only the session's own cells instead (IPython's cell filenames, as ultratb names them),
// which costs what a traceback of the cell alone costs.
//
// One landing in ipykernel's dispatch code just after a request's handler (as it restores the
// SIGINT handler) escapes the dispatch loop and ends the kernel's main loop: the kernel exits
// with status 0 seconds later, in the middle of the session's next request. It is caught one
// level up instead and handled as ipykernel handles one in a handler ("KeyboardInterrupt
// caught in kernel"), with the status: idle that the dispatch would have sent.
constexpr const char* kInterruptSetup = R"PY(
def _ci_setup():
    import signal, types
    shell = get_ipython()
    if hasattr(shell.compile, '_filename_map'):
        def interrupt_traceback(shell, etype, value, tb, tb_offset=None):
            cells = shell.compile._filename_map
            kept = []
            while tb is not None:
                if tb.tb_frame.f_code.co_filename in cells:
                    kept.append(tb)
                tb = tb.tb_next
            tb = None
            for entry in reversed(kept):
                tb = types.TracebackType(tb, entry.tb_frame, entry.tb_lasti, entry.tb_lineno)
            shell.showtraceback((etype, value, tb), tb_offset=0)
        shell.set_custom_exc((KeyboardInterrupt,), interrupt_traceback)
    kernel = getattr(shell, 'kernel', None)
    process_one = getattr(kernel, 'process_one', None)
    if process_one is not None:
        async def guarded_process_one(wait=True):
            try:
                await process_one(wait)
            except KeyboardInterrupt:
                signal.signal(signal.SIGINT, getattr(kernel, 'saved_sigint_handler', signal.SIG_IGN))
                kernel.log.error('KeyboardInterrupt caught in kernel.')
                kernel._publish_status('idle', 'shell')
        kernel.process_one = guarded_process_one
_ci_setup()
del _ci_setup
)PY";

}  // namespace

std::vector<std::string> KernelSetupCells() {
  return {kFirstTraceback, kForgetFirstTraceback, kInterruptSetup};
}

}  // namespace jupyter
