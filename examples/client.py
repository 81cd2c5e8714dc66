#!/usr/bin/python3
"""Example client for code-interpreter: the original project's example flow.

Runs three executions in one session (state is kept between them), saves the
matplotlib figure of the last one as output_<id8>.png in the current directory,
then releases the session.

Environment:
  CODE_INTERPRETER_URL    gateway URL (default http://127.0.0.1:3874)
  CODE_INTERPRETER_TOKEN  the API token; if unset, `code-interpreter token` is run
  CODE_INTERPRETER_BIN    the binary used for that (default build/default/code-interpreter
                          in the repository, else code-interpreter on PATH)

Needs httpx (Debian: apt-get install python3-httpx). Exits non-zero when a step fails.
"""

import base64
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parent.parent
GATEWAY_URL = os.environ.get("CODE_INTERPRETER_URL", "http://127.0.0.1:3874").rstrip("/")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

MATPLOTLIB_CODE = """
import matplotlib.pyplot as plt
import numpy as np

x = np.linspace(0, 10, 100)
y = np.sin(x)

plt.figure(figsize=(5, 3))
plt.plot(x, y)
plt.title('Sine Wave')
plt.grid(True)
plt.show()
"""


class StepFailed(Exception):
    pass


def find_binary() -> str | None:
    explicit = os.environ.get("CODE_INTERPRETER_BIN")
    if explicit:
        return explicit
    built = REPO_ROOT / "build" / "default" / "code-interpreter"
    if built.is_file() and os.access(built, os.X_OK):
        return str(built)
    return shutil.which("code-interpreter")


def get_token() -> str:
    token = os.environ.get("CODE_INTERPRETER_TOKEN", "").strip()
    if token:
        return token
    binary = find_binary()
    if binary is None:
        raise StepFailed(
            "no token: set CODE_INTERPRETER_TOKEN, or build the binary (./scripts/start.sh) "
            "or point CODE_INTERPRETER_BIN at it"
        )
    try:
        out = subprocess.run(
            [binary, "token"], check=True, capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError) as e:
        raise StepFailed(f"could not run '{binary} token': {e}") from e
    token = out.stdout.strip()
    if not token:
        raise StepFailed(f"'{binary} token' printed nothing")
    return token


def shorten(value, limit: int = 200):
    """A copy of a JSON value with long strings (base64 images) cut, for printing."""
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:60]}... ({len(value)} chars)"
    if isinstance(value, list):
        return [shorten(v, limit) for v in value]
    if isinstance(value, dict):
        return {k: shorten(v, limit) for k, v in value.items()}
    return value


def call(client: httpx.Client, path: str, payload: dict) -> dict:
    response = client.post(path, json=payload)
    try:
        data = response.json()
    except ValueError:
        data = {"non_json_body": response.text}
    print(f"HTTP {response.status_code}")
    print(json.dumps(shorten(data), indent=2, ensure_ascii=False))
    if response.status_code != 200:
        detail = data.get("detail") if isinstance(data, dict) else data
        raise StepFailed(f"POST {path} returned {response.status_code}: {detail}")
    return data


def execute(client: httpx.Client, user: str, code: str) -> dict:
    print(f"\n--- POST /execute ---\n{code.strip()}\n")
    return call(client, "/execute", {"user_uuid": user, "code": code})


def release(client: httpx.Client, user: str) -> dict:
    print("\n--- POST /release ---")
    return call(client, "/release", {"user_uuid": user})


def run(client: httpx.Client, user: str) -> None:
    # 1. Define variables.
    execute(client, user, "a = 10\nb = 20")

    # 2. Use them in a later request: the session is stateful.
    data = execute(client, user, "result = a * b\nprint(f'The product is {result}')\nresult")
    if "The product is 200" not in (data.get("result_text") or ""):
        raise StepFailed("result_text does not contain 'The product is 200'")

    # 3. A matplotlib figure comes back as base64 PNG in result_base64.
    data = execute(client, user, MATPLOTLIB_CODE)
    if not data.get("result_base64"):
        raise StepFailed("no image in result_base64")
    image = base64.b64decode(data["result_base64"])
    if not image.startswith(PNG_SIGNATURE):
        raise StepFailed("result_base64 is not a PNG")
    filename = f"output_{user[:8]}.png"
    Path(filename).write_bytes(image)
    print(f"Saved the image ({len(image)} bytes) as {filename}")

    # 4. End the session; its worker is destroyed at once.
    release(client, user)


def main() -> int:
    try:
        token = get_token()
    except StepFailed as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"Gateway {GATEWAY_URL}, token ...{token[-6:]}")

    user = str(uuid.uuid4())
    print(f"user_uuid {user}")
    # The first request may have to wait for a worker to start; executions time out
    # server-side (30 s by default), so allow more than that here.
    with httpx.Client(
        base_url=GATEWAY_URL, headers={"X-Auth-Token": token}, timeout=120.0
    ) as client:
        try:
            run(client, user)
        except (StepFailed, httpx.HTTPError) as e:
            print(f"\nFAILED: {e}", file=sys.stderr)
            if isinstance(e, httpx.TransportError):
                print("Is the service running? Start it with ./scripts/start.sh", file=sys.stderr)
            else:
                try:  # do not leave the session behind
                    client.post("/release", json={"user_uuid": user})
                except httpx.HTTPError:
                    pass
            return 1
    print("\nAll steps succeeded.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
