#!/usr/bin/env python3
"""Writes the hand-made seeds (seed-*) into fuzz/corpus/<target>/; the rest of each corpus is
what the fuzzers found (scripts/fuzz.sh with FUZZ_MERGE=1). Run again after changing a format."""
import hashlib
import hmac
import json
import pathlib
import struct

ROOT = pathlib.Path(__file__).resolve().parent
TOKEN = "fuzz-token-0123456789abcdef"  # fuzz/gateway_harness.h kToken
KEY = b"fuzz-key-0123456789"  # fuzz/jupyter_wire_target.cc kKey


def write(target, name, data):
    directory = ROOT / "corpus" / target
    directory.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    (directory / f"seed-{name}").write_bytes(data)


BODIES = {
    "execute": {"user_uuid": "u-1", "code": "print(1)"},
    "execute-timeout": {"user_uuid": "u-1", "code": "x = 1", "timeout": 2.5},
    "execute-timeout-null": {"user_uuid": "u-1", "code": "", "timeout": None},
    "execute-timeout-max": {"user_uuid": "u", "code": "1", "timeout": 300},
    "execute-timeout-tiny": {"user_uuid": "u", "code": "1", "timeout": 5e-324},
    "execute-timeout-zero": {"user_uuid": "u", "code": "1", "timeout": 0},
    "execute-timeout-negative": {"user_uuid": "u", "code": "1", "timeout": -1},
    "execute-timeout-huge": {"user_uuid": "u", "code": "1", "timeout": 18446744073709551615},
    "execute-timeout-string": {"user_uuid": "u", "code": "1", "timeout": "10"},
    "execute-outputs": {"user_uuid": "u", "code": json.dumps(
        [{"type": "display_data", "data": {"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"},
          "metadata": {}}])},
    "execute-unicode": {"user_uuid": "\u00fc\u00f1\u00ee\u00e7\u00f8d\u00e9-\U0001F600",
                        "code": "print('\u4f60\u597d')"},
    "execute-no-code": {"user_uuid": "u"},
    "execute-code-number": {"user_uuid": "u", "code": 1},
    "execute-user-empty": {"user_uuid": "", "code": "1"},
    "execute-user-long": {"user_uuid": "u" * 257, "code": "1"},
    "execute-user-number": {"user_uuid": 7, "code": "1"},
    "release": {"user_uuid": "u-1"},
}
RAW_BODIES = {
    "not-json": "user_uuid=u&code=1",
    "array": '["user_uuid", "u"]',
    "truncated": '{"user_uuid": "u", "code": "1"',
    "duplicate-keys": '{"user_uuid": "a", "user_uuid": "b", "code": "1"}',
    "escapes": r'{"user_uuid": "\u0000\ud83d\ude00\ud800", "code": "\"\\\/\b\f\n\r\t"}',
    "invalid-utf8": b'{"user_uuid": "\xff\xfe", "code": "\xc3("}',
    "big-numbers": '{"user_uuid": "u", "code": "1", "timeout": 1e400, "n": -1e-400, "i": 123456789012345678901234567890}',
    "nested": '{"user_uuid": "u", "code": "1", "timeout": [[[[{}]]]]}',
    "empty": "",
    "whitespace": " \t\r\n",
}


def api_json():
    for name, body in BODIES.items():
        write("api_json", name, json.dumps(body, ensure_ascii=False))
    for name, body in RAW_BODIES.items():
        write("api_json", name, body)


def router():
    def request(name, method, target, token, body=""):
        data = f"{method}\n{target}\n{token}\n".encode()
        write("router", name, data + (body.encode() if isinstance(body, str) else body))

    request("execute", "POST", "/execute", "=", json.dumps(BODIES["execute"]))
    request("execute-outputs", "POST", "/execute?x=1", "=", json.dumps(BODIES["execute-outputs"]))
    request("execute-error", "POST", "/execute", "=", json.dumps({"user_uuid": "u", "code": "raise"}))
    request("execute-no-token", "POST", "/execute", "-", json.dumps(BODIES["execute"]))
    request("execute-wrong-token", "POST", "/execute", TOKEN[:-1], json.dumps(BODIES["execute"]))
    request("execute-bad-json", "POST", "/execute", "=", RAW_BODIES["truncated"])
    request("release", "POST", "/release", "=", json.dumps(BODIES["release"]))
    request("release-odd", "POST", "/release", "=", json.dumps({"user_uuid": "abc"}))
    request("status", "GET", "/status", "=")
    request("status-post", "POST", "/status", "=")
    request("health", "GET", "/health", "-")
    request("page", "GET", "/", "-")
    request("page-query", "GET", "/?a=b", "-")
    request("unknown", "DELETE", "/nope", "=")
    request("lowercase", "get", "/health", "-")
    request("executions", "POST", "/executions", "=", json.dumps(BODIES["execute"]))
    request("executions-get", "GET", "/executions/ex-0/events?last_event_id=3", "=")
    request("mcp-initialize", "POST", "/mcp", "=", json.dumps(
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18"}}))
    request("mcp-call", "POST", "/mcp", "=", json.dumps(
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
         "params": {"name": "execute_python", "arguments": {"code": "1"}}}))
    request("mcp-delete", "DELETE", "/mcp", "=")


def http_request():
    def http(name, method, target, headers=(), body=b"", chunks=None):
        lines = [f"{method} {target} HTTP/1.1", "Host: localhost"] + list(headers)
        if chunks is not None:
            lines.append("Transfer-Encoding: chunked")
            body = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"
        elif body:
            lines.append(f"Content-Length: {len(body)}")
        write("http_request", name, ("\r\n".join(lines) + "\r\n\r\n").encode() + body)

    auth = f"X-Auth-Token: {TOKEN}"
    json_type = "Content-Type: application/json"
    execute = json.dumps(BODIES["execute"]).encode()
    http("execute", "POST", "/execute", [auth, json_type], execute)
    http("execute-chunked", "POST", "/execute", [auth, json_type],
         chunks=[execute[:10], execute[10:]])
    http("execute-no-token", "POST", "/execute", [json_type], execute)
    http("release", "POST", "/release", [auth], json.dumps(BODIES["release"]).encode())
    http("status", "GET", "/status", [auth])
    http("health", "GET", "/health")
    http("page", "GET", "/")
    http("head", "HEAD", "/health")
    http("options", "OPTIONS", "*")
    http("unknown-method", "BREW", "/health")
    http("expect-continue", "POST", "/execute", [auth, "Expect: 100-continue"], execute)
    http("close", "GET", "/health", ["Connection: close"])
    http("folded-header", "GET", "/status", [f"X-Auth-Token: {TOKEN}", " folded"])
    http("duplicate-token", "GET", "/status", [auth, "X-Auth-Token: other"])
    http("content-length-huge", "POST", "/execute", [auth, "Content-Length: 99999999999"])
    http("content-length-and-chunked", "POST", "/execute",
         [auth, "Content-Length: 5"], chunks=[b"{}"])
    # Two keep-alive requests, then a third with a bad chunk size.
    pipelined = (f"GET /health HTTP/1.1\r\nHost: a\r\n\r\n"
                 f"POST /release HTTP/1.1\r\nHost: a\r\n{auth}\r\nContent-Length: 17\r\n\r\n"
                 f'{{"user_uuid":"u"}}'
                 f"POST /execute HTTP/1.1\r\n{auth}\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
    write("http_request", "pipelined", pipelined)
    write("http_request", "http10", "GET /health HTTP/1.0\r\n\r\n")
    write("http_request", "garbage", "\x00\x01GET / HTTP/9.9\r\n\r\n")
    write("http_request", "bare-lf", "GET /health HTTP/1.1\nHost: a\n\n")


def frame(data):
    if isinstance(data, str):
        data = data.encode()
    return struct.pack("<H", len(data)) + data


def wire_message(mode, header, content, parent=None, metadata=None, identities=(), buffers=(),
                 signature=None):
    parts = [json.dumps(p).encode() if not isinstance(p, bytes) else p
             for p in (header, parent or {}, metadata or {}, content)]
    if signature is None:
        signature = hmac.new(KEY, b"".join(parts), hashlib.sha256).hexdigest()
    frames = list(identities) + ["<IDS|MSG>", signature] + parts + list(buffers)
    return bytes([mode]) + b"".join(frame(f) for f in frames)


def jupyter_wire():
    def header(msg_type):
        return {"msg_id": "m-" + msg_type, "msg_type": msg_type, "session": "s", "username": "k",
                "date": "2024-01-01T00:00:00.000000Z", "version": "5.3"}

    def both(name, msg_type, content, **kwargs):
        # Mode 1 carries a real signature (Python's hmac); mode 0 is re-signed by the harness.
        write("jupyter_wire", name, wire_message(1, header(msg_type), content, **kwargs))
        write("jupyter_wire", name + "-unsigned", wire_message(2, header(msg_type), content,
                                                               signature="", **kwargs))

    both("stream", "stream", {"name": "stdout", "text": "hello\n"}, parent={"msg_id": "p"})
    both("stderr", "stream", {"name": "stderr", "text": "\u00e9\u00e8 \U0001F600" * 30})
    both("display", "display_data",
         {"data": {"text/plain": "<Figure>", "image/png": "iVBORw0KGgo=" * 20},
          "metadata": {"image/png": {"width": 640}}})
    both("execute-result", "execute_result",
         {"execution_count": 3, "data": {"text/plain": "42"}, "metadata": {}})
    both("error", "error", {"ename": "ValueError", "evalue": "bad",
                            "traceback": ["\x1b[0;31mValueError\x1b[0m: bad", "\x1b]8;;x\x07link"]})
    both("reply-ok", "execute_reply", {"status": "ok", "execution_count": 1})
    both("reply-error", "execute_reply",
         {"status": "error", "ename": "E", "evalue": "v", "traceback": ["\x1b[1mtb"]})
    both("status-idle", "status", {"execution_state": "idle"})
    both("clear-output", "clear_output", {"wait": True})
    both("identities", "status", {"execution_state": "busy"}, identities=["id1", "id2"],
         buffers=[b"\x00\x01buffer"])
    write("jupyter_wire", "bad-signature",
          wire_message(1, header("stream"), {"name": "stdout", "text": "x"}, signature="0" * 64))
    write("jupyter_wire", "other-key",
          wire_message(3, header("stream"), {"name": "stdout", "text": "x"}))
    write("jupyter_wire", "invalid-utf8",
          wire_message(0, header("stream"), b'{"name": "stdout", "text": "\xff\xc3(\xed\xa0\x80"}'))
    write("jupyter_wire", "not-object",
          wire_message(0, header("stream"), b'["name", "stdout"]'))
    write("jupyter_wire", "no-msg-id", wire_message(0, {"msg_type": "stream"}, {}))
    write("jupyter_wire", "too-few-frames", bytes([0]) + frame("<IDS|MSG>") + frame("sig"))
    write("jupyter_wire", "no-delimiter", bytes([2]) + frame("a") + frame("b"))


if __name__ == "__main__":
    api_json()
    router()
    http_request()
    jupyter_wire()
