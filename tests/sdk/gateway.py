"""Starts a real code-interpreter gateway for the SDK tests and the overhead benchmark.

The binary is ``$CI_BINARY`` (or ``$CI_TEST_BINARY``, else build/default/code-interpreter);
the sandbox ``$CI_TEST_SANDBOX``, else ``namespaces`` as root and ``none`` otherwise, as the
C++ integration suites choose.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Optional, Sequence

REPO = Path(__file__).resolve().parents[2]
_LISTENING = re.compile(r"listening on [0-9.]+:([0-9]+)")


def default_binary() -> str:
    return (os.environ.get("CI_BINARY") or os.environ.get("CI_TEST_BINARY")
            or str(REPO / "build" / "default" / "code-interpreter"))


def default_sandbox() -> str:
    return os.environ.get("CI_TEST_SANDBOX") or ("namespaces" if os.geteuid() == 0 else "none")


class Gateway:
    """A gateway process on a free loopback port, with its own token and directories."""

    def __init__(self, binary: Optional[str] = None, sandbox: Optional[str] = None,
                 extra: Sequence[str] = ()) -> None:
        self.binary = binary or default_binary()
        self.sandbox = sandbox or default_sandbox()
        self.extra = list(extra)
        self.token = secrets.token_hex(24)
        self.port: Optional[int] = None
        self._dir = tempfile.mkdtemp(prefix="ci-sdk-")
        self._log: list[str] = []
        self._listening = threading.Event()
        self._proc: Optional[subprocess.Popen[str]] = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return "".join(self._log)

    def start(self, wait: float = 60.0) -> "Gateway":
        token_file = Path(self._dir, "token")
        token_file.write_text(self.token + "\n")
        token_file.chmod(0o600)
        args = [self.binary, "serve", f"--sandbox={self.sandbox}", "--listen", "127.0.0.1:0",
                "--state-dir", f"{self._dir}/state", "--runtime-dir", f"{self._dir}/run",
                "--token-file", str(token_file), "--min-idle", "1", "--environment=host",
                *self.extra]
        self._proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE, text=True, errors="replace")
        threading.Thread(target=self._drain, daemon=True).start()
        if not self._listening.wait(wait) or self.port is None:
            self.stop()
            raise RuntimeError(f"the gateway did not start:\n{self.log()}")
        return self

    def _drain(self) -> None:
        assert self._proc is not None and self._proc.stderr is not None
        for line in self._proc.stderr:
            self._log.append(line)
            match = _LISTENING.search(line)
            if match and self.port is None:
                self.port = int(match.group(1))
                self._listening.set()
        self._listening.set()  # EOF: the process ended (start() reports it)

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(30)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> "Gateway":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
