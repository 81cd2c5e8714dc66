#!/usr/bin/env python3
"""Gateway CPU per trivial request, from outside: python3 bench/cpu_per_request.py BINARY [N]

Starts BINARY serve --sandbox=none on 127.0.0.1:3996, warms up with 100 `1+1`, then sends N
(default 1000) sequential ones over one keep-alive connection and prints the gateway's
utime+stime per request from /proc/<pid>/stat (10 ms ticks: use N of 1000 or more). Run two
binaries one after the other on the same machine to compare them.
"""
import http.client, json, os, subprocess, sys, tempfile, time

binary, n = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1000
d = tempfile.mkdtemp()
token = "tok-0123456789abcdef0123"
env = dict(os.environ, CODE_INTERPRETER_TOKEN=token)
p = subprocess.Popen([binary, "serve", "--sandbox=none", "--listen", "127.0.0.1:3996", "--min-idle", "1",
                      "--runtime-dir", d + "/run", "--state-dir", d + "/state"], env=env,
                     stderr=subprocess.DEVNULL)
try:
    for _ in range(300):
        try:
            c = http.client.HTTPConnection("127.0.0.1", 3996)
            c.request("GET", "/health"); c.getresponse().read(); break
        except OSError:
            time.sleep(0.1)
    body = json.dumps({"user_uuid": "u", "code": "1+1"})
    hdr = {"X-Auth-Token": token, "Content-Type": "application/json"}
    def run(k):
        for _ in range(k):
            c.request("POST", "/execute", body, hdr)
            r = c.getresponse(); r.read()
            assert r.status == 200, r.status
    def cpu():
        f = open(f"/proc/{p.pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    run(100)
    c0, t0 = cpu(), time.time()
    run(n)
    c1, t1 = cpu(), time.time()
    print(f"{binary}: {1000 * (c1 - c0) / n:.3f} ms CPU per request over {n}, {1000 * (t1 - t0) / n:.2f} ms wall each")
finally:
    p.terminate(); p.wait()
