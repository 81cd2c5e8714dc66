#!/usr/bin/python3
"""The SDK's overhead per run: ``session.run("1+1")`` against a raw httpx POST of the same
request, interleaved on one session (same kernel, same connection reuse). Prints, does not
assert.

The raw POST is measured twice: with httpx's default transport, and with the SDK's
(``TCP_NODELAY``: without it each request waits ~40 ms for the server's delayed ACK, see
clients/python/code_interpreter_client/_transport.py). The SDK's own overhead is the
difference to the second. The async client is timed in a loop of its own afterwards.

    /usr/bin/python3 tests/sdk/bench_overhead.py [--binary PATH] [-n 200]

Starts its own gateway (see gateway.py) unless --url and --token are given.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gateway import REPO, Gateway  # noqa: E402

try:
    import code_interpreter_client
except ImportError:
    sys.path.insert(0, str(REPO / "clients" / "python"))
    import code_interpreter_client
from code_interpreter_client import AsyncClient, Client, Execution  # noqa: E402
from code_interpreter_client._transport import sync_transport  # noqa: E402


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def report(name: str, ms: list[float]) -> None:
    print(f"{name:<26} p50 {percentile(ms, 50):7.2f}  p90 {percentile(ms, 90):7.2f}  "
          f"p99 {percentile(ms, 99):7.2f}  mean {statistics.fmean(ms):7.2f} ms")


def timed(call) -> float:
    t0 = time.perf_counter()
    call()
    return (time.perf_counter() - t0) * 1e3


async def bench_async(url: str, token: str, user: str, n: int) -> list[float]:
    async with AsyncClient(url, token) as client:
        session = client.session(user)  # not a context manager: the session stays
        ms = []
        for _ in range(n):
            t0 = time.perf_counter()
            ex = await session.run("1+1")
            ms.append((time.perf_counter() - t0) * 1e3)
            assert ex.text == "2", ex
        return ms


def bench(url: str, token: str, n: int) -> None:
    code = "1+1"
    rows: dict[str, list[float]] = {"raw httpx POST + .json()": [],
                                    "raw httpx, TCP_NODELAY": [],
                                    "sdk session.run": [], "sdk session.run (stream)": []}
    headers = {"X-Auth-Token": token}
    with Client(url, token) as client, client.session() as session, \
            httpx.Client(base_url=url, headers=headers, timeout=60) as plain, \
            httpx.Client(base_url=url, headers=headers, timeout=60,
                         transport=sync_transport()) as nodelay:
        body = {"user_uuid": session.user_uuid, "code": code}
        calls = {
            "raw httpx POST + .json()": lambda: plain.post("/execute", json=body).json(),
            "raw httpx, TCP_NODELAY": lambda: nodelay.post("/execute", json=body).json(),
            "sdk session.run": lambda: session.run(code),
            "sdk session.run (stream)": lambda: session.run(code, on_stdout=lambda _t: None),
        }
        for _ in range(10):  # warm-up: worker assignment, connections, imports
            for call in calls.values():
                call()
        for _ in range(n):
            for name, call in calls.items():
                rows[name].append(timed(call))
        answer = plain.post("/execute", json=body).json()
        assert answer["result_text"] == "2", answer
        rows["sdk AsyncClient run"] = asyncio.run(bench_async(url, token, session.user_uuid, n))
    print(f"{n} runs each of {code!r}, one session ({url}); times in ms")
    for name, ms in rows.items():
        report(name, ms)
    sdk, raw = rows["sdk session.run"], rows["raw httpx, TCP_NODELAY"]
    print(f"sdk overhead vs raw httpx with TCP_NODELAY: p50 "
          f"{percentile(sdk, 50) - percentile(raw, 50):+.2f} ms, "
          f"p99 {percentile(sdk, 99) - percentile(raw, 99):+.2f} ms")
    # The SDK's own CPU cost: building the Execution from a typical body.
    sample = json.dumps(answer).encode()
    loops = 20000
    t0 = time.perf_counter()
    for _ in range(loops):
        Execution.from_dict(json.loads(sample))
    per = (time.perf_counter() - t0) / loops * 1e6
    print(f"json decode + Execution.from_dict: {per:.1f} us per response ({len(sample)} bytes)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", help="gateway binary (default: $CI_BINARY or build/default)")
    parser.add_argument("--url")
    parser.add_argument("--token")
    parser.add_argument("-n", type=int, default=200, help="runs of each kind (default 200)")
    args = parser.parse_args()
    print(f"package: {Path(code_interpreter_client.__file__).parent}, httpx {httpx.__version__}")
    if args.url and args.token:
        bench(args.url, args.token, args.n)
        return
    with Gateway(args.binary) as gateway:
        print(f"gateway: {gateway.binary} ({gateway.sandbox} sandbox)")
        bench(gateway.url, gateway.token, args.n)


if __name__ == "__main__":
    main()
