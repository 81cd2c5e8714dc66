"""The Python SDK and its command line against a real gateway (started here, see gateway.py).

Run by run_tests.sh (the package installed offline into a scratch directory), or directly:
``CI_BINARY=build/default/code-interpreter /usr/bin/python3 -m unittest discover -s tests/sdk``
(then the package comes from clients/python).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gateway import REPO, Gateway  # noqa: E402

try:
    import code_interpreter_client
except ImportError:
    sys.path.insert(0, str(REPO / "clients" / "python"))
    import code_interpreter_client

from code_interpreter_client import (  # noqa: E402
    AsyncClient,
    AuthenticationError,
    Client,
    ConflictError,
    DoneEvent,
    ErrorEvent,
    FileChange,
    InvalidRequestError,
    NotFoundError,
    NotSupportedError,
    ResultEvent,
    StartEvent,
    StreamEvent,
)
from code_interpreter_client._transport import _NoDelayBackend, sync_transport  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PLOT = "import matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.show()\n"
# Where the tests' copy of the package lives: the CLI subprocesses run that same copy.
PACKAGE_ROOT = str(Path(code_interpreter_client.__file__).resolve().parents[1])

GATEWAY: Gateway
CLIENT: Client
FILES_SUPPORTED = False


def setUpModule() -> None:
    global GATEWAY, CLIENT, FILES_SUPPORTED
    GATEWAY = Gateway().start()
    CLIENT = Client(GATEWAY.url, GATEWAY.token)
    print(f"\n[sdk tests: {GATEWAY.sandbox} sandbox, package from {PACKAGE_ROOT}]", file=sys.stderr)
    with CLIENT.session() as probe:
        try:
            probe.files.list()
            FILES_SUPPORTED = True
        except NotSupportedError:
            FILES_SUPPORTED = False


def tearDownModule() -> None:
    CLIENT.close()
    GATEWAY.stop()


def needs_files(test: unittest.TestCase) -> None:
    if not FILES_SUPPORTED:
        test.skipTest(f"the {GATEWAY.sandbox} sandbox gives sessions no workspace")


def run_in_thread(session, code: str, started: threading.Event):
    """Start session.run(code) in a thread; `started` is set by its first stdout chunk."""
    pool = ThreadPoolExecutor(1)
    future = pool.submit(session.run, code, on_stdout=lambda _text: started.set())
    pool.shutdown(wait=False)
    return future


class RunTest(unittest.TestCase):
    def test_state_is_kept_across_runs(self) -> None:
        with CLIENT.session() as s:
            first = s.run("x = 41")
            second = s.run("print('adding')\nx + 1")
        self.assertTrue(first.ok)
        self.assertEqual(second.text, "adding\n42")
        self.assertEqual(second.stdout, "adding\n")
        self.assertEqual([r.text for r in second.results], ["42"])
        self.assertEqual(second.results[0].type, "execute_result")
        self.assertEqual(second.execution_count, first.execution_count + 1)
        self.assertTrue(second.state_preserved)
        self.assertTrue(second.execution_id.startswith("ex-"))
        self.assertEqual(second.raw["result_text"], "adding\n42")

    def test_matplotlib_png_arrives_as_bytes(self) -> None:
        with CLIENT.session() as s:
            ex = s.run(PLOT)
        self.assertTrue(ex.ok, ex.detail)
        pngs = [r.png for r in ex.results if r.png is not None]
        self.assertEqual(len(pngs), 1)
        self.assertTrue(pngs[0].startswith(PNG_MAGIC))
        self.assertEqual(ex.png, pngs[0])
        self.assertEqual(ex.images, pngs)
        self.assertIn("image/png", ex.results[0].data)
        self.assertIn("Figure", ex.results[0].text)
        if GATEWAY.sandbox != "none":
            self.assertIsNotNone(ex.usage)
            self.assertGreater(ex.usage.peak_memory_mb, 0)

    def test_html_and_svg_results(self) -> None:
        with CLIENT.session() as s:
            ex = s.run("from IPython.display import HTML, SVG, display\n"
                       "display(HTML('<b>bold</b>'))\n"
                       "display(SVG('<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>'))")
        self.assertEqual(ex.results[0].html, "<b>bold</b>")
        self.assertIn("<svg", ex.results[1].svg)
        self.assertIsNone(ex.results[0].png)

    def test_exception_is_an_execution_with_error(self) -> None:
        with CLIENT.session() as s:
            s.run("kept = 'yes'")
            ex = s.run("print('before')\n1 / 0")
            after = s.run("kept")
        self.assertIsNotNone(ex.error)
        self.assertEqual(ex.error.ename, "ZeroDivisionError")
        self.assertEqual(ex.error.evalue, "division by zero")
        self.assertTrue(any("ZeroDivisionError" in line for line in ex.error.traceback))
        self.assertIn("ZeroDivisionError", ex.error.text)
        self.assertEqual(ex.stdout, "before\n")
        self.assertFalse(ex.ok)
        self.assertTrue(ex.state_preserved)
        self.assertEqual(ex.detail, "ZeroDivisionError: division by zero")
        self.assertEqual(after.text, "'yes'")

    def test_timeout_keeps_state(self) -> None:
        with CLIENT.session() as s:
            s.run("keep = 7")
            ex = s.run("import time\ntime.sleep(30)", timeout=1)
            after = s.run("keep")
        self.assertTrue(ex.timed_out)
        self.assertTrue(ex.state_preserved)
        self.assertFalse(ex.interrupted)
        self.assertFalse(ex.ok)
        self.assertEqual(ex.error.ename, "KeyboardInterrupt")
        self.assertLess(ex.duration_ms, 20000)
        self.assertEqual(after.text, "7")

    def test_interrupt_from_another_thread(self) -> None:
        with CLIENT.session() as s:
            self.assertFalse(s.interrupt())  # nothing running yet
            started = threading.Event()
            begun = time.monotonic()
            future = run_in_thread(s, "print('sleeping', flush=True)\n"
                                      "import time\ntime.sleep(60)", started)
            self.assertTrue(started.wait(60), "the run never printed")
            self.assertTrue(s.interrupt())
            ex = future.result(timeout=60)
            self.assertLess(time.monotonic() - begun, 50)
            self.assertTrue(ex.interrupted)
            self.assertFalse(ex.timed_out)
            self.assertEqual(ex.error.ename, "KeyboardInterrupt")
            self.assertEqual(s.run("'alive'").text, "'alive'")

    def test_release_ends_the_session(self) -> None:
        user = str(uuid.uuid4())
        with CLIENT.session(user) as s:
            s.run("marker = 1")
            self.assertEqual(s.run("'marker' in globals()").text, "True")
        with CLIENT.session(user) as s:
            self.assertEqual(s.run("'marker' in globals()").text, "False")

    def test_release_while_running_raises_conflict(self) -> None:
        s = CLIENT.session()
        started = threading.Event()
        future = run_in_thread(s, "print('go', flush=True)\nimport time\ntime.sleep(60)", started)
        self.assertTrue(started.wait(60))
        s.release()
        with self.assertRaises(ConflictError) as cm:
            future.result(timeout=60)
        self.assertEqual(cm.exception.status, 409)
        self.assertTrue(cm.exception.detail)

    def test_random_user_uuid(self) -> None:
        a, b = CLIENT.session(), CLIENT.session()
        self.assertNotEqual(a.user_uuid, b.user_uuid)
        self.assertEqual(str(uuid.UUID(a.user_uuid)), a.user_uuid)
        self.assertEqual(CLIENT.session("bob").user_uuid, "bob")


class StreamingTest(unittest.TestCase):
    def test_callbacks_see_output_before_run_returns(self) -> None:
        seen: list[tuple[float, str]] = []
        errors: list[str] = []
        displays = []
        with CLIENT.session() as s:
            ex = s.run("import sys, time\nprint('first', flush=True)\n"
                       "print('warn', file=sys.stderr, flush=True)\n"
                       "time.sleep(1)\nprint('second')\ndisplay(3)\n4",
                       on_stdout=lambda t: seen.append((time.monotonic(), t)),
                       on_stderr=errors.append, on_display=displays.append)
            returned = time.monotonic()
        first_at = next(at for at, text in seen if "first" in text)
        self.assertLessEqual(first_at, returned - 0.5)
        self.assertEqual("".join(text for _, text in seen), ex.stdout)
        self.assertEqual(ex.stdout, "first\nsecond\n")
        self.assertEqual("".join(errors), "warn\n")
        self.assertEqual([r.text for r in displays], ["3", "4"])
        self.assertEqual([r.type for r in displays], ["display_data", "execute_result"])
        self.assertEqual(ex.text, "first\nsecond\n4")

    def test_stream_yields_start_to_done(self) -> None:
        with CLIENT.session() as s:
            events = list(s.stream("print('hi')\n40 + 2"))
            failed = list(s.stream("raise ValueError('bad')"))
        self.assertIsInstance(events[0], StartEvent)
        self.assertIsInstance(events[-1], DoneEvent)
        self.assertTrue(events[0].execution_id.startswith("ex-"))
        self.assertEqual(events[-1].execution.execution_id, events[0].execution_id)
        self.assertEqual(events[-1].execution.text, "hi\n42")
        stdout = [e for e in events if isinstance(e, StreamEvent)]
        self.assertEqual([(e.kind, e.text) for e in stdout], [("stdout", "hi\n")])
        results = [e for e in events if isinstance(e, ResultEvent)]
        self.assertEqual(results[0].result.text, "42")
        ids = [e.id for e in events]
        self.assertEqual(ids, sorted(ids))
        self.assertEqual(len(set(ids)), len(ids))
        errors = [e for e in failed if isinstance(e, ErrorEvent)]
        self.assertEqual(errors[0].error.ename, "ValueError")
        self.assertEqual(failed[-1].execution.error.evalue, "bad")

    def test_leaving_a_stream_early_abandons_the_execution(self) -> None:
        with CLIENT.session() as s:
            for event in s.stream("print('x', flush=True)\nimport time\ntime.sleep(60)"):
                if isinstance(event, StreamEvent):
                    break
            begun = time.monotonic()
            after = s.run("'next'")  # queued behind the abandoned run until it is interrupted
            self.assertEqual(after.text, "'next'")
            self.assertLess(time.monotonic() - begun, 30)


class RefusalTest(unittest.TestCase):
    def test_bad_token_raises_authentication_error(self) -> None:
        with Client(GATEWAY.url, token="not-the-token-0123456789") as bad:
            s = bad.session()
            for call in (lambda: s.run("1"), lambda: list(s.stream("1")), s.files.list,
                         s.release):
                with self.assertRaises(AuthenticationError) as cm:
                    call()
                self.assertEqual(cm.exception.status, 401)
                self.assertEqual(cm.exception.detail, "Missing or invalid X-Auth-Token")

    def test_invalid_requests_raise_instead_of_returning(self) -> None:
        s = CLIENT.session()
        for call in (lambda: s.run("1", timeout=1e6), lambda: list(s.stream("1", timeout=1e6)),
                     lambda: s.run("1", on_stdout=print, timeout=1e6)):
            with self.assertRaises(InvalidRequestError) as cm:
                call()
            self.assertEqual(cm.exception.status, 400)
            self.assertIn("timeout", cm.exception.detail)
        with self.assertRaises(InvalidRequestError) as cm:
            CLIENT.session(environment="no-such-environment").run("1")
        self.assertIn("no-such-environment", cm.exception.detail)


class TransportTest(unittest.TestCase):
    def test_blocking_client_connections_set_tcp_nodelay(self) -> None:
        # Without it every request waits ~40 ms for the server's delayed ACK (_transport.py).
        backend = getattr(getattr(sync_transport(), "_pool", None), "_network_backend", None)
        if not isinstance(backend, _NoDelayBackend):
            self.skipTest("this httpx takes socket_options itself")
        stream = backend.connect_tcp("127.0.0.1", GATEWAY.port)
        try:
            sock = stream.get_extra_info("socket")
            self.assertEqual(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY), 1)
        finally:
            stream.close()
        with Client(GATEWAY.url, GATEWAY.token) as client:
            self.assertTrue(client.health())
            self.assertIn("total_workers", client.status())


class FilesTest(unittest.TestCase):
    def setUp(self) -> None:
        needs_files(self)
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.tmp = Path(tmp.name)

    def test_upload_list_download_remove(self) -> None:
        payload = bytes(range(256)) * 100
        local = self.tmp / "notes.txt"
        local.write_text("hello\n")
        with CLIENT.session() as s:
            up = s.files.upload(payload, "data/blob.bin")
            self.assertEqual((up.path, up.size), ("/sandbox/data/blob.bin", len(payload)))
            self.assertEqual(up.sha256, hashlib.sha256(payload).hexdigest())
            self.assertEqual(s.files.upload(local, "/sandbox/data/notes.txt").size, 6)
            with open(local, "rb") as f:
                self.assertEqual(s.files.upload(f, "data/copy.txt").path, "/sandbox/data/copy.txt")

            listing = s.files.list("data")
            self.assertEqual(listing.names(), ["blob.bin", "copy.txt", "notes.txt"])
            self.assertEqual([e.size for e in listing], [len(payload), 6, 6])
            self.assertEqual({e.type for e in listing}, {"file"})
            self.assertIn(("data", "dir"), [(e.name, e.type) for e in s.files.list()])
            check = s.run("open('data/blob.bin', 'rb').read() == bytes(range(256)) * 100")
            self.assertEqual(check.text, "True")

            self.assertEqual(s.files.download("data/blob.bin"), payload)
            got = s.files.download("data/notes.txt", self.tmp / "got.txt")
            self.assertEqual(Path(got).read_text(), "hello\n")
            into_dir = s.files.download("/sandbox/data/copy.txt", self.tmp)
            self.assertEqual(Path(into_dir), self.tmp / "copy.txt")
            with self.assertRaises(NotFoundError):
                s.files.download("missing.txt", self.tmp / "missing.txt")
            self.assertFalse((self.tmp / "missing.txt").exists())
            self.assertFalse((self.tmp / "missing.txt.part").exists())

            ex = s.run("open('out.txt', 'w').write('xyz')")
            self.assertIn(FileChange("/sandbox/out.txt", "created", "file", 3), ex.files)
            self.assertEqual(s.files.download("out.txt"), b"xyz")
            s.files.remove("out.txt")
            self.assertNotIn("out.txt", s.files.list().names())
            with self.assertRaises(NotFoundError) as cm:
                s.files.download("out.txt")
            self.assertEqual(cm.exception.status, 404)
            self.assertIn("no such file", cm.exception.detail)

            with self.assertRaises(ConflictError):
                s.files.remove("data")
            s.files.remove("data", recursive=True)
            with self.assertRaises(NotFoundError):
                s.files.list("data")
            with self.assertRaises(InvalidRequestError):
                s.files.download("../etc/passwd")


class AsyncClientTest(unittest.TestCase):
    def test_async_run_stream_and_files(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        async with AsyncClient(GATEWAY.url, GATEWAY.token) as client:
            async with client.session() as s:
                self.assertEqual((await s.run("x = 20\nx + 22")).text, "42")
                chunks: list[str] = []

                async def on_stdout(text: str) -> None:
                    chunks.append(text)

                ex = await s.run("print('async out')", on_stdout=on_stdout)
                self.assertEqual(chunks, ["async out\n"])
                self.assertTrue(ex.ok)
                events = [e async for e in s.stream("print(x)\n1 / 0")]
                self.assertIsInstance(events[0], StartEvent)
                self.assertIsInstance(events[-1], DoneEvent)
                self.assertEqual(events[-1].execution.stdout, "20\n")
                self.assertEqual(events[-1].execution.error.ename, "ZeroDivisionError")
                with self.assertRaises(InvalidRequestError):
                    await s.run("1", timeout=1e6)
                if FILES_SUPPORTED:
                    up = await s.files.upload(b"async bytes", "a/b.txt")
                    self.assertEqual(up.size, 11)
                    self.assertEqual((await s.files.list("a")).names(), ["b.txt"])
                    self.assertEqual(await s.files.download("a/b.txt"), b"async bytes")
                    await s.files.remove("a", recursive=True)
                    with self.assertRaises(NotFoundError):
                        await s.files.list("a")
            async with AsyncClient(GATEWAY.url, "not-the-token-0123456789") as bad:
                with self.assertRaises(AuthenticationError):
                    await bad.session().run("1")


def cli(*args: str, stdin: str = "", cwd: str | None = None) -> subprocess.CompletedProcess:
    """Run the command-line client like a user would."""
    env = dict(os.environ, CODE_INTERPRETER_URL=GATEWAY.url, CODE_INTERPRETER_TOKEN=GATEWAY.token,
               PYTHONPATH=PACKAGE_ROOT, PYTHONDONTWRITEBYTECODE="1")
    env.pop("CODE_INTERPRETER_USER", None)
    return subprocess.run(["/usr/bin/python3", "-m", "code_interpreter_client", *args],
                          input=stdin, capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=120)


class CliTest(unittest.TestCase):
    def setUp(self) -> None:
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)
        self.cwd = self.dir.name

    def test_run_prints_stdout_and_writes_png(self) -> None:
        p = cli("run", "-", stdin="print('hello from cli')\n" + PLOT, cwd=self.cwd)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("hello from cli", p.stdout)
        pngs = sorted(Path(self.cwd).glob("output_ex-*_1.png"))
        self.assertEqual(len(pngs), 1, os.listdir(self.cwd))
        self.assertTrue(pngs[0].read_bytes().startswith(PNG_MAGIC))
        self.assertIn(pngs[0].name, p.stderr)

    def test_run_from_file_into_images_dir(self) -> None:
        code = Path(self.cwd, "plot.py")
        code.write_text(PLOT + "print('done', file=__import__('sys').stderr)\n")
        p = cli("run", "--images", "imgs", str(code), cwd=self.cwd)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(len(list(Path(self.cwd, "imgs").glob("output_*.png"))), 1)
        self.assertIn("done", p.stderr)

    def test_error_exits_1_with_traceback(self) -> None:
        p = cli("run", "-", stdin="print('partial')\n1 / 0\n", cwd=self.cwd)
        self.assertEqual(p.returncode, 1)
        self.assertIn("partial", p.stdout)
        self.assertIn("ZeroDivisionError", p.stderr)

    def test_timeout_exits_1(self) -> None:
        p = cli("run", "--timeout", "1", "-c", "import time; time.sleep(30)", cwd=self.cwd)
        self.assertEqual(p.returncode, 1)
        self.assertIn("timeout", p.stderr)

    def test_json_prints_the_response(self) -> None:
        p = cli("run", "--json", "-", stdin="print('j')\n6 * 7", cwd=self.cwd)
        self.assertEqual(p.returncode, 0, p.stderr)
        body = json.loads(p.stdout)
        self.assertEqual(body["result_text"], "j\n42")
        self.assertTrue(body["execution_id"].startswith("ex-"))
        failed = cli("run", "--json", "-c", "1 / 0", cwd=self.cwd)
        self.assertEqual(failed.returncode, 1)
        self.assertEqual(json.loads(failed.stdout)["error"]["ename"], "ZeroDivisionError")

    def test_user_keeps_state_until_released(self) -> None:
        user = f"cli-{uuid.uuid4()}"
        self.assertEqual(cli("run", "--user", user, "-c", "v = 5").returncode, 0)
        p = cli("--user", user, "run", "--json", "-c", "v")
        self.assertEqual(json.loads(p.stdout)["result_text"], "5")
        self.assertEqual(cli("release", "--user", user).returncode, 0)
        self.assertEqual(cli("run", "--user", user, "--release", "-c", "v").returncode, 1)

    def test_file_commands(self) -> None:
        needs_files(self)
        user = f"cli-{uuid.uuid4()}"
        Path(self.cwd, "in.txt").write_text("cli file\n")
        up = cli("upload", "--user", user, "in.txt", "docs/in.txt", cwd=self.cwd)
        self.assertEqual(up.returncode, 0, up.stderr)
        self.assertIn("/sandbox/docs/in.txt", up.stdout)
        ls = cli("ls", "--user", user, "docs")
        self.assertEqual(ls.returncode, 0, ls.stderr)
        self.assertIn("in.txt", ls.stdout)
        down = cli("download", "--user", user, "docs/in.txt", "out.txt", cwd=self.cwd)
        self.assertEqual(down.returncode, 0, down.stderr)
        self.assertEqual(Path(self.cwd, "out.txt").read_text(), "cli file\n")
        self.assertEqual(cli("download", "--user", user, "docs/in.txt", "-").stdout, "cli file\n")
        self.assertEqual(cli("rm", "--user", user, "-r", "docs").returncode, 0)
        missing = cli("ls", "--user", user, "docs")
        self.assertEqual(missing.returncode, 3)
        self.assertIn("404", missing.stderr)
        cli("release", "--user", user)

    def test_bad_token_and_missing_user(self) -> None:
        p = cli("run", "--token", "not-the-token-0123456789", "-c", "1")
        self.assertEqual(p.returncode, 3)
        self.assertIn("Missing or invalid X-Auth-Token", p.stderr)
        self.assertEqual(cli("ls").returncode, 2)


if __name__ == "__main__":
    unittest.main()
