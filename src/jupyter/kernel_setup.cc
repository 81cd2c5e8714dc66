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
// The KeyboardInterrupt's traceback then runs through library frames, and IPython's default
// (Context) mode formats each frame with stack_data, which parses and highlights the frame's
// whole source file (displayhook.py, formatters.py, pretty.py, jupyter_client's session.py,
// ...): 0.25-0.45 s of CPU in a fresh kernel, 70 ms after, seconds of wall time on a busy
// host, which outlasted the gateway's grace and cost sessions their kernel. Even over the
// cell's frames alone it costs ~20 ms. A KeyboardInterrupt's traceback is formatted in
// IPython's Plain mode instead (every frame, each with its line, as Python prints them):
// 1-7 ms. The shell's showtraceback is wrapped, since IPython formats tracebacks there
// whichever level caught the exception (run_code for the cell's code, _run_cell for the
// machinery around it); the user's own %xmode applies to every other exception.
//
// One landing in ipykernel's dispatch code just after a request's handler (as it restores the
// SIGINT handler) escapes the dispatch loop and ends the kernel's main loop: the kernel exits
// with status 0 seconds later, in the middle of the session's next request. It is caught one
// level up instead and handled as ipykernel handles one in a handler ("KeyboardInterrupt
// caught in kernel"), with the status: idle that the dispatch would have sent.
constexpr const char* kInterruptSetup = R"PY(
def _ci_setup():
    import signal, sys
    shell = get_ipython()
    if hasattr(getattr(shell, 'InteractiveTB', None), 'set_mode'):
        showtraceback = shell.showtraceback
        def interrupt_aware_showtraceback(exc_tuple=None, *args, **kwargs):
            etype = (exc_tuple or sys.exc_info())[0]
            if etype is None or not issubclass(etype, KeyboardInterrupt):
                return showtraceback(exc_tuple, *args, **kwargs)
            formatter = shell.InteractiveTB
            mode = formatter.mode
            formatter.set_mode('Plain')
            try:
                return showtraceback(exc_tuple, *args, **kwargs)
            finally:
                formatter.set_mode(mode)
        shell.showtraceback = interrupt_aware_showtraceback
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

// A warm kernel starts before its session is known. Once it is handed out, the session's
// workspace is attached (where CODE_INTERPRETER_WORKSPACE says: /sandbox in a sandbox), and a
// directory mounted over the one a process is in does not change that process's working
// directory; a session whose limits differ from the server's defaults also gets its soft
// rlimits written beside the connection file (sandbox/worker_dir.h). The session's first
// cell (silent cells such as these trigger no events) enters the one and applies the other.
constexpr const char* kEnterSession = R"PY(
def _ci_setup():
    import os
    shell = get_ipython()
    def enter_session(*args):
        shell.events.unregister('pre_run_cell', enter_session)
        target = os.environ.get('CODE_INTERPRETER_WORKSPACE')
        try:
            if target:
                os.chdir(target)
        except OSError:
            pass
        try:
            import json, resource
            from ipykernel.kernelapp import IPKernelApp
            folder = os.path.dirname(IPKernelApp.instance().connection_file)
            with open(os.path.join(folder, 'limits.json')) as f:
                limits = json.load(f)
            for key, which in (('data', resource.RLIMIT_DATA), ('nproc', resource.RLIMIT_NPROC)):
                if isinstance(limits.get(key), int):
                    hard = resource.getrlimit(which)[1]
                    soft = limits[key] if hard == resource.RLIM_INFINITY else min(limits[key], hard)
                    resource.setrlimit(which, (soft, hard))
        except (OSError, ValueError, ImportError):
            pass
    shell.events.register('pre_run_cell', enter_session)
_ci_setup()
del _ci_setup
)PY";

// ipykernel sends what a cell prints at most every 0.2 s (OutStream.flush_interval): a streamed
// line would reach its client up to 200 ms late. Writes made while a flush is pending still go
// out together, so a print loop makes no more messages than the kernel's I/O thread can send.
constexpr const char* kPromptStreams = R"PY(
def _ci_setup():
    import sys
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, 'flush_interval'):
            stream.flush_interval = 0.001
_ci_setup()
del _ci_setup
)PY";

}  // namespace

std::vector<std::string> KernelSetupCells() {
  return {kFirstTraceback, kForgetFirstTraceback, kInterruptSetup, kEnterSession, kPromptStreams};
}

}  // namespace jupyter
