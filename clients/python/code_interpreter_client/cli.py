"""Command-line client: ``python3 -m code_interpreter_client`` / ``code-interpreter-client``.

Exit status: 0 success; 1 the code raised, timed out or was interrupted; 2 bad usage;
3 the request was refused or could not be made.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path
from typing import Optional, Sequence, TextIO

from .client import Client
from .errors import CodeInterpreterError
from .events import DisplayEvent, DoneEvent, DroppedEvent, ResultEvent, StartEvent, StreamEvent
from .models import Execution, Result
from .session import Session

_IMAGE_TYPES = (("image/png", "png"), ("image/jpeg", "jpg"), ("image/svg+xml", "svg"))


def _common(parser: argparse.ArgumentParser) -> None:
    """Options accepted before and after the subcommand."""
    s = argparse.SUPPRESS
    parser.add_argument("--url", default=s, help="gateway URL (default: $CODE_INTERPRETER_URL)")
    parser.add_argument("--token", default=s, help="API token (default: $CODE_INTERPRETER_TOKEN)")
    parser.add_argument("--token-file", default=s, help="read the API token from this file")
    parser.add_argument("--user", default=s,
                        help="session's user_uuid (default: $CODE_INTERPRETER_USER)")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="code-interpreter-client",
                                description="Run Python on a code-interpreter gateway.")
    _common(p)
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run code from FILE or stdin, streaming its output")
    _common(run)
    run.add_argument("file", nargs="?", default="-", help="file with the code ('-': stdin)")
    run.add_argument("-c", "--code", help="the code itself instead of FILE")
    run.add_argument("--env", help="environment of a new session")
    run.add_argument("--timeout", type=float, help="execution timeout, seconds")
    run.add_argument("--json", action="store_true", help="print the final response JSON")
    run.add_argument("--images", default=".", help="directory for images (default: .)")
    run.add_argument("--release", action="store_true",
                     help="release the session afterwards (always done without --user)")

    up = sub.add_parser("upload", help="upload LOCAL to PATH in the workspace")
    _common(up)
    up.add_argument("local")
    up.add_argument("path", nargs="?", help="destination (default: LOCAL's name)")

    down = sub.add_parser("download", help="download PATH to LOCAL ('-': stdout)")
    _common(down)
    down.add_argument("path")
    down.add_argument("local", nargs="?", help="destination (default: PATH's name here)")

    ls = sub.add_parser("ls", help="list a workspace directory")
    _common(ls)
    ls.add_argument("path", nargs="?", default="/sandbox")
    ls.add_argument("--json", action="store_true", help="print the listing's JSON")

    rm = sub.add_parser("rm", help="remove a file (or, with -r, a directory)")
    _common(rm)
    rm.add_argument("path")
    rm.add_argument("-r", "--recursive", action="store_true")

    for name, text in (("interrupt", "interrupt the running execution"),
                       ("release", "end the session")):
        _common(sub.add_parser(name, help=text))
    return p


def _token(args: argparse.Namespace) -> Optional[str]:
    if getattr(args, "token", None):
        return args.token
    path = getattr(args, "token_file", None)
    return Path(path).read_text().strip() if path else None


class _Printer:
    """Writes a streamed execution to the terminal and saves its images."""

    def __init__(self, images: str, out: TextIO, err: TextIO) -> None:
        self.images, self.out, self.err = Path(images), out, err
        self.execution_id = "unknown"
        self.saved = 0

    def show(self, result: Result) -> None:
        """Save an image (and say where), else print the text form."""
        images = [(mime, ext) for mime, ext in _IMAGE_TYPES if mime in result.data]
        if images:
            mime, ext = images[0]
            self.saved += 1
            path = self.images / f"output_{self.execution_id}_{self.saved}.{ext}"
            self.images.mkdir(parents=True, exist_ok=True)
            binary = {"png": result.png, "jpg": result.jpeg}.get(ext)
            path.write_bytes(binary if binary is not None else (result.svg or "").encode())
            print(f"[{mime} saved to {path}]", file=self.err, flush=True)
        elif result.text is not None:
            print(result.text, file=self.out, flush=True)

    def finish(self, ex: Execution) -> int:
        if ex.error is not None:
            print(ex.error.text, file=self.err)
        if ex.detail and (ex.error is None or ex.timed_out or ex.interrupted):
            print(ex.detail, file=self.err)
        for note in (ex.notice, "[output truncated]" if ex.truncated else None):
            if note:
                print(note, file=self.err)
        return 0 if ex.ok else 1


def _run(args: argparse.Namespace, session: Session) -> int:
    if args.code is not None:
        code = args.code
    elif args.file == "-":
        code = sys.stdin.read()
    else:
        code = Path(args.file).read_text()
    if args.json:
        ex = session.run(code, timeout=args.timeout)
        print(json.dumps(ex.raw, indent=2, ensure_ascii=False))
        return 0 if ex.ok else 1
    printer = _Printer(args.images, sys.stdout, sys.stderr)
    for event in session.stream(code, timeout=args.timeout):
        if isinstance(event, StartEvent):
            printer.execution_id = event.execution_id
        elif isinstance(event, StreamEvent):
            stream = sys.stdout if event.kind == "stdout" else sys.stderr
            stream.write(event.text)
            stream.flush()
        elif isinstance(event, (DisplayEvent, ResultEvent)):
            printer.show(event.result)
        elif isinstance(event, DroppedEvent):
            print(f"[missed events {event.first} to {event.last}]", file=sys.stderr)
        elif isinstance(event, DoneEvent):
            return printer.finish(event.execution)
    return 3


def _files(args: argparse.Namespace, session: Session) -> int:
    files = session.files
    if args.command == "upload":
        info = files.upload(args.local, args.path or Path(args.local).name)
        print(f"uploaded {args.local} -> {info.path} ({info.size} bytes, sha256 {info.sha256})")
    elif args.command == "download":
        if args.local == "-":
            data = files.download(args.path)
            assert isinstance(data, bytes)
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
        else:
            target = files.download(args.path, args.local or ".")
            print(f"downloaded {args.path} -> {target}", file=sys.stderr)
    elif args.command == "ls":
        listing = files.list(args.path)
        if args.json:
            print(json.dumps(listing.raw, indent=2, ensure_ascii=False))
            return 0
        for e in listing:
            print(f"{e.type:<5} {e.size:>12} {e.name}{'/' if e.type == 'dir' else ''}")
        if listing.truncated:
            print(f"[{listing.total - len(listing)} more entries not shown]", file=sys.stderr)
    else:
        files.remove(args.path, recursive=args.recursive)
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    user = getattr(args, "user", None) or os.environ.get("CODE_INTERPRETER_USER")
    if user is None and args.command != "run":
        parser.error(f"{args.command} needs --user or $CODE_INTERPRETER_USER")
    try:
        with Client(getattr(args, "url", None), _token(args)) as client:
            session = client.session(user, environment=getattr(args, "env", None))
            try:
                if args.command == "run":
                    return _run(args, session)
                if args.command == "interrupt":
                    print("interrupted" if session.interrupt() else "nothing was running")
                    return 0
                if args.command == "release":
                    session.release()
                    return 0
                return _files(args, session)
            finally:
                if args.command == "run" and (user is None or args.release):
                    with contextlib.suppress(CodeInterpreterError):
                        session.release()
    except CodeInterpreterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        return 130
