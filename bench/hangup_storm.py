#!/usr/bin/env python3
"""Clients hanging up on trivial executions under load (issue 10, item 8), measured from outside.

    python3 bench/hangup_storm.py PORT TOKEN [SECONDS]

against a running gateway with at least 26 warm workers, e.g.
`code-interpreter serve --min-idle 26 --max-workers 30`. 25 users each run `x += 1; x` in a
loop for SECONDS (default 60); one request in ten is sent and its connection closed 0-4 ms
later, so the gateway interrupts a cell that is finishing anyway. Prints every response that
reports lost state and a summary; the gateway's log says "did not stop within N s of an
interrupt" for each kernel it replaced. Every such loss is a bug: a trivial cell's interrupt
must not cost a session its state.
"""
import json
import random
import socket
import sys
import threading
import time

port, token = int(sys.argv[1]), sys.argv[2]
seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 60.0
stats = {"ok": 0, "hung_up": 0, "lost": 0, "other": 0}
lock = threading.Lock()


def request(user, code, hang_up):
    body = json.dumps({"user_uuid": user, "code": code}).encode()
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"POST /execute HTTP/1.1\r\nHost: x\r\nX-Auth-Token: " + token.encode() +
              b"\r\nContent-Type: application/json\r\nContent-Length: " +
              str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n" + body)
    if hang_up:
        time.sleep(random.random() * 0.004)
        s.close()
        return None
    data = b""
    while chunk := s.recv(65536):
        data += chunk
    s.close()
    return json.loads(data.split(b"\r\n\r\n", 1)[1])


def user(i):
    name = "storm-%d" % i
    request(name, "x = 0", False)
    end = time.time() + seconds
    while time.time() < end:
        reply = request(name, "x += 1; x", random.random() < 0.1)
        with lock:
            if reply is None:
                stats["hung_up"] += 1
            elif not reply.get("state_preserved", True) or "notice" in reply:
                stats["lost"] += 1
                print("LOST", name, reply.get("notice") or reply.get("detail"), flush=True)
            elif reply.get("result_text") is not None:
                stats["ok"] += 1
            else:
                stats["other"] += 1
                print("OTHER", name, reply.get("detail"), flush=True)


threads = [threading.Thread(target=user, args=(i,)) for i in range(25)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(stats)
