#!/usr/bin/python3
"""The Python SDK (clients/python) doing what an agent does with code-interpreter.

Runs code in a session that keeps its state, streams a slow cell's output as it comes, saves a
plot, uploads a CSV, lets the kernel analyse it and downloads the result, then releases the
session. Environment: CODE_INTERPRETER_URL (default http://127.0.0.1:3874) and
CODE_INTERPRETER_TOKEN. Uses the installed package, else the one in clients/python. Needs
httpx (Debian: apt-get install python3-httpx). Exits non-zero when a step fails.
"""

import sys
from pathlib import Path

try:
    import code_interpreter_client  # noqa: F401
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "clients" / "python"))
from code_interpreter_client import Client, CodeInterpreterError


def check(condition: bool, what: str) -> None:
    if not condition:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)


def main() -> None:
    with Client() as client, client.session() as session:
        session.run("a = 10\nb = 20")
        ex = session.run("result = a * b\nprint(f'The product is {result}')\nresult")
        check(ex.ok and ex.text == "The product is 200\n200", f"state kept: {ex.text!r}")
        print(ex.text)

        print("streamed:")
        ex = session.run(
            "import time\nfor step in range(3):\n    print('step', step)\n    time.sleep(0.3)",
            on_stdout=lambda text: print("  " + text, end="", flush=True),
        )
        check(ex.stdout == "step 0\nstep 1\nstep 2\n", "streamed stdout")

        ex = session.run(
            "import matplotlib.pyplot as plt\nimport numpy as np\nx = np.linspace(0, 10, 100)\n"
            "plt.plot(x, np.sin(x))\nplt.title('Sine Wave')\nplt.show()"
        )
        check(ex.png is not None and ex.png.startswith(b"\x89PNG"), "a PNG")
        Path(f"output_{ex.execution_id}.png").write_bytes(ex.png)
        print(f"saved output_{ex.execution_id}.png")

        session.files.upload(b"day,amount\n2026-01-01,3.5\n2026-01-02,4.5\n", "sales.csv")
        ex = session.run(
            "import csv\nrows = list(csv.DictReader(open('sales.csv')))\n"
            "total = sum(float(r['amount']) for r in rows)\n"
            "open('total.txt', 'w').write(str(total))\ntotal"
        )
        check(ex.text == "8.0", f"the analysis: {ex.text!r}")
        check(any(f.path == "/sandbox/total.txt" for f in ex.files), "the change list")
        check(session.files.download("total.txt") == b"8.0", "the download")
        print("total.txt:", session.files.download("total.txt").decode())

        ex = session.run("1 / 0")
        check(ex.error is not None and ex.error.ename == "ZeroDivisionError", "an exception")
        print("error:", ex.error.ename, ex.error.evalue)


if __name__ == "__main__":
    try:
        main()
    except CodeInterpreterError as error:
        print(f"FAILED: {error}", file=sys.stderr)
        sys.exit(1)
