#!/usr/bin/python3
"""Example client for code-interpreter's workspace: data analysis with files.

Uploads a CSV into the session's workspace (/sandbox), runs an analysis that writes a
chart (chart.png) and a result file (summary.csv), prints the files the execution reports
as changed, downloads both into the current directory, then releases the session.

Environment: as examples/client.py (CODE_INTERPRETER_URL, CODE_INTERPRETER_TOKEN,
CODE_INTERPRETER_BIN). Needs httpx (Debian: apt-get install python3-httpx). Exits non-zero
when a step fails.
"""

import csv
import io
import os
import random
import sys
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from client import GATEWAY_URL, PNG_SIGNATURE, StepFailed, get_token  # noqa: E402

# Plain Python, numpy and matplotlib (what the default sandbox's Python has; the docker
# worker image has pandas too).
ANALYSIS = """
import csv, os
from collections import defaultdict
import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt
import numpy as np

per_month = defaultdict(list)
with open('data/sales.csv') as f:
    for row in csv.DictReader(f):
        per_month[row['day'][:7]].append(float(row['amount']))
months = sorted(per_month)
totals = [sum(per_month[m]) for m in months]

os.makedirs('out', exist_ok=True)
with open('out/summary.csv', 'w', newline='') as f:
    w = csv.writer(f)
    w.writerow(['month', 'count', 'sum', 'mean'])
    for m in months:
        w.writerow([m, len(per_month[m]), round(sum(per_month[m]), 2), round(np.mean(per_month[m]), 2)])

plt.figure(figsize=(6, 3))
plt.bar(months, totals)
plt.title('Sales per month')
plt.tight_layout()
plt.savefig('out/chart.png')
print(open('out/summary.csv').read())
"""


def sample_csv() -> bytes:
    rng = random.Random(7)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["day", "amount"])
    for month in range(1, 7):
        for day in range(1, 29, 3):
            writer.writerow([f"2026-{month:02d}-{day:02d}", round(rng.uniform(10, 500), 2)])
    return out.getvalue().encode()


def check(response: httpx.Response, expected: int, what: str) -> httpx.Response:
    if response.status_code != expected:
        raise StepFailed(f"{what}: HTTP {response.status_code}: {response.text[:300]}")
    return response


def run(client: httpx.Client, user: str) -> None:
    data = sample_csv()
    # 1. Upload: the raw bytes, streamed; parents are created.
    r = check(client.put("/files", params={"user_uuid": user, "path": "data/sales.csv"},
                         content=data), 201, "upload")
    print(f"uploaded {r.json()['path']} ({r.json()['size']} bytes, sha256 {r.json()['sha256'][:12]}...)")

    # 2. Run the analysis in the kernel; its working directory is the workspace.
    r = check(client.post("/execute", json={"user_uuid": user, "code": ANALYSIS}), 200, "execute")
    body = r.json()
    print(body["stdout"])
    print("files changed by the execution:")
    for f in body["files"]:
        print(f"  {f['change']:9} {f['path']} ({f['size']} bytes)")
    changed = {f["path"] for f in body["files"]}
    for wanted in ("/sandbox/out/chart.png", "/sandbox/out/summary.csv"):
        if wanted not in changed:
            raise StepFailed(f"{wanted} is not in the execution's changed files")

    # 3. List the output directory and download what the code wrote.
    r = check(client.get("/files/list", params={"user_uuid": user, "path": "out"}), 200, "list")
    print("out/:", ", ".join(f"{e['name']} ({e['size']} B)" for e in r.json()["entries"]))
    for name in ("chart.png", "summary.csv"):
        r = check(client.get("/files", params={"user_uuid": user, "path": f"out/{name}"}), 200,
                  f"download {name}")
        target = Path(f"{user[:8]}_{name}")
        target.write_bytes(r.content)
        print(f"downloaded {name} as {target} ({len(r.content)} bytes, {r.headers['content-type']})")
        if name.endswith(".png") and not r.content.startswith(PNG_SIGNATURE):
            raise StepFailed("chart.png is not a PNG")

    # 4. End the session: its workspace goes with it.
    check(client.post("/release", json={"user_uuid": user}), 200, "release")
    print("released the session")


def main() -> int:
    try:
        token = get_token()
    except StepFailed as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    user = str(uuid.uuid4())
    print(f"Gateway {GATEWAY_URL}, user_uuid {user}")
    with httpx.Client(base_url=GATEWAY_URL, headers={"X-Auth-Token": token},
                      timeout=120.0) as client:
        try:
            run(client, user)
        except (StepFailed, httpx.HTTPError) as e:
            print(f"\nFAILED: {e}", file=sys.stderr)
            try:
                client.post("/release", json={"user_uuid": user})
            except httpx.HTTPError:
                pass
            return 1
    print("\nAll steps succeeded.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
