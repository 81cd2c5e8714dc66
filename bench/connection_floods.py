#!/usr/bin/env python3
"""Anonymous floods against one gateway, measured from outside (docs/security.md#connections).

    sudo python3 bench/connection_floods.py [build/default/code-interpreter]

Starts the binary once per flood (--sandbox=none --min-idle 0: no kernels, only the gateway)
and prints, per flood, the gateway's RSS growth (VmRSS, and VmHWM for the peak), its open
fds, and how long a canary GET /status with the token takes:

  idle    5000 idle token-less connections from 100 loopback addresses (50 each)
  bodies  200 token-less POSTs with a 2 MiB Content-Length, all but the last byte sent
  fds     the gateway's fd limit lowered to its open fds + 30, then 90 idle connections:
          its CPU share and log growth over 5 s, and the canary while the flood holds
          every descriptor and once it is closed

Works with any build (flags it does not know are not passed), so old and new can be
compared. Needs root for prlimit on the gateway only if it runs as another user.
"""
import json
import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

BINARY = sys.argv[1] if len(sys.argv) > 1 else "build/default/code-interpreter"
TOKEN = "flood-bench-token-0123456789abcdef"


class Gateway:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="ci-flood-")
        env = dict(os.environ, CODE_INTERPRETER_TOKEN=TOKEN)
        self.proc = subprocess.Popen(
            [BINARY, "serve", "--sandbox=none", "--min-idle", "0", "--max-workers", "1",
             "--listen", "127.0.0.1:0", "--state-dir", self.dir + "/state",
             "--runtime-dir", self.dir + "/run"],
            stderr=subprocess.PIPE, env=env)
        self.log_bytes = 0
        line = b""
        while b"listening on" not in line:
            line = self.proc.stderr.readline()
            if not line:
                raise SystemExit("the gateway did not start")
            self.log_bytes += len(line)
        self.port = int(re.search(rb"listening on [0-9.]+:([0-9]+)", line).group(1))
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        while True:
            chunk = self.proc.stderr.read1(1 << 16)
            if not chunk:
                return
            self.log_bytes += len(chunk)

    def status(self, field):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        return 0

    def fds(self):
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def cpu_seconds(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def connect(port, source="127.0.0.1"):
    s = socket.socket()
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    return s


def canary(port, timeout=30.0):
    """Seconds until GET /status with the token is answered (None: not within timeout)."""
    start = time.monotonic()
    try:
        s = connect(port)
        s.settimeout(timeout)
        s.sendall(f"GET /status HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {TOKEN}\r\n"
                  "Connection: close\r\n\r\n".encode())
        reply = s.recv(64)
        s.close()
        return round(time.monotonic() - start, 3) if reply.startswith(b"HTTP/1.1 200") else None
    except OSError:
        return None


def idle(g):
    rss, hwm = g.status("VmRSS"), g.status("VmHWM")
    flood = []
    for i in range(5000):
        try:
            flood.append(connect(g.port, f"127.0.1.{1 + i % 100}"))
        except OSError:
            pass
    time.sleep(1)  # let the gateway accept (or refuse) what is queued
    out = {"rss_growth_kb": g.status("VmRSS") - rss, "hwm_growth_kb": g.status("VmHWM") - hwm,
           "gateway_fds": g.fds(), "canary_s": canary(g.port)}
    for s in flood:
        s.close()
    return out


def bodies(g):
    rss, hwm = g.status("VmRSS"), g.status("VmHWM")
    head = (b"POST /execute HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 2097152\r\n\r\n")
    body = b"x" * (2097152 - 1)
    flood = []
    for i in range(200):
        s = connect(g.port, f"127.0.1.{1 + i % 10}")
        s.sendall(head + body)
        flood.append(s)
    # Socket buffers took the bodies; wait until the gateway has read what it will read.
    last, deadline = -1, time.monotonic() + 20
    while g.status("VmRSS") != last and time.monotonic() < deadline:
        last = g.status("VmRSS")
        time.sleep(1)
    out = {"rss_growth_kb": g.status("VmRSS") - rss, "hwm_growth_kb": g.status("VmHWM") - hwm,
           "canary_s": canary(g.port)}
    unauthorized = 0
    for s in flood:
        s.settimeout(0.2)
        try:
            unauthorized += s.recv(64).startswith(b"HTTP/1.1 401")
        except OSError:
            pass
        s.close()
    out["answered_401"] = unauthorized
    return out


def fds(g):
    limit = g.fds() + 30
    resource.prlimit(g.proc.pid, resource.RLIMIT_NOFILE, (limit, limit))
    rss = g.status("VmRSS")
    flood = [connect(g.port, f"127.0.1.{1 + i % 10}") for i in range(90)]
    deadline = time.monotonic() + 5
    while g.fds() < limit and time.monotonic() < deadline:
        time.sleep(0.02)
    cpu, log = g.cpu_seconds(), g.log_bytes
    time.sleep(5)
    out = {"cpu_share": round((g.cpu_seconds() - cpu) / 5, 3),
           "log_bytes_per_s": (g.log_bytes - log) // 5,
           "rss_growth_kb": g.status("VmRSS") - rss,
           "canary_during_s": canary(g.port, timeout=3)}
    for s in flood:
        s.close()
    out["canary_after_close_s"] = canary(g.port)
    return out


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    results = {}
    for name, flood in (("idle", idle), ("bodies", bodies), ("fds", fds)):
        g = Gateway()
        try:
            results[name] = flood(g)
        finally:
            g.stop()
        print(name, json.dumps(results[name]), flush=True)


if __name__ == "__main__":
    main()
