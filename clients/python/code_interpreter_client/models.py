"""Typed views of the gateway's JSON answers.

Each class keeps the JSON it was built from in ``raw``, so fields this version of the SDK
does not know about stay reachable.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any, Iterator, Optional

__all__ = [
    "Result",
    "ExecutionError",
    "Usage",
    "FileChange",
    "FileEntry",
    "DirectoryListing",
    "UploadedFile",
    "Execution",
]


def _b64(value: Any) -> Optional[bytes]:
    return base64.b64decode(value) if isinstance(value, str) else None


def _str(value: Any) -> Optional[str]:
    if isinstance(value, list):  # Jupyter allows multi-line strings as lists of lines
        return "".join(value)
    return value if isinstance(value, str) else None


@dataclass
class Result:
    """One rich output: a ``display()``/``plt.show()`` bundle or the last expression's value.

    Attributes:
        type: ``"execute_result"``, ``"display_data"`` or ``"update_display_data"``.
        data: The MIME bundle exactly as the kernel sent it (binary images base64-encoded).
        metadata: The kernel's metadata for this output.
    """

    type: str
    data: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict[str, Any], type: Optional[str] = None) -> "Result":
        """Build a Result from an ``outputs`` element or a display/result event's data."""
        return cls(
            type=d.get("type") or type or "display_data",
            data=d.get("data") or {},
            metadata=d.get("metadata") or {},
        )

    @property
    def png(self) -> Optional[bytes]:
        """The decoded ``image/png`` bytes, if present."""
        return _b64(self.data.get("image/png"))

    @property
    def jpeg(self) -> Optional[bytes]:
        """The decoded ``image/jpeg`` bytes, if present."""
        return _b64(self.data.get("image/jpeg"))

    @property
    def svg(self) -> Optional[str]:
        """The ``image/svg+xml`` text, if present (untrusted: do not render it as HTML)."""
        return _str(self.data.get("image/svg+xml"))

    @property
    def html(self) -> Optional[str]:
        """The ``text/html`` text, if present (untrusted kernel output)."""
        return _str(self.data.get("text/html"))

    @property
    def text(self) -> Optional[str]:
        """The ``text/plain`` representation, if present."""
        return _str(self.data.get("text/plain"))

    @property
    def json(self) -> Any:
        """The ``application/json`` value, if present."""
        return self.data.get("application/json")


@dataclass
class ExecutionError:
    """The Python exception an execution raised (traceback without ANSI escapes)."""

    ename: str
    evalue: str
    traceback: list[str]

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ExecutionError":
        return cls(d.get("ename", ""), d.get("evalue", ""), list(d.get("traceback") or []))

    @property
    def text(self) -> str:
        """The traceback as one printable string."""
        return "\n".join(line.rstrip("\n") for line in self.traceback)


@dataclass
class Usage:
    """What an execution used, from its sandbox's cgroup."""

    cpu_ms: Optional[float]
    peak_memory_mb: Optional[float]

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Usage":
        return cls(d.get("cpu_ms"), d.get("peak_memory_mb"))


@dataclass
class FileChange:
    """A workspace entry an execution created, modified or deleted."""

    path: str
    change: str  # "created", "modified" or "deleted"
    type: str  # "file", "dir" or "other"
    size: int
    encoded_path: Optional[str] = None  # percent-encoded bytes when path is not UTF-8

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "FileChange":
        return cls(d["path"], d["change"], d["type"], d.get("size", 0), d.get("encoded_path"))


@dataclass
class FileEntry:
    """One entry of a directory listing."""

    name: str
    path: str
    type: str  # "file", "dir" or "other" (links, fifos, sockets)
    size: int
    mtime: float
    encoded_path: Optional[str] = None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "FileEntry":
        return cls(
            d["name"], d["path"], d["type"], d.get("size", 0), d.get("mtime", 0.0),
            d.get("encoded_path"),
        )


@dataclass
class DirectoryListing:
    """A directory's entries (sorted by name, at most 1000); iterable like a list."""

    path: str
    entries: list[FileEntry]
    total: int
    truncated: bool
    raw: dict[str, Any] = field(repr=False, default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "DirectoryListing":
        entries = [FileEntry.from_dict(e) for e in d.get("entries") or []]
        return cls(d.get("path", ""), entries, d.get("total", len(entries)),
                   bool(d.get("truncated")), d)

    def __iter__(self) -> Iterator[FileEntry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def names(self) -> list[str]:
        """The entries' names."""
        return [e.name for e in self.entries]


@dataclass
class UploadedFile:
    """The answer to an upload: where the file landed, its size and SHA-256."""

    path: str
    size: int
    sha256: str

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "UploadedFile":
        return cls(d["path"], d["size"], d.get("sha256", ""))


@dataclass
class Execution:
    """The outcome of running code (whether it succeeded, raised, timed out or was interrupted).

    Attributes:
        execution_id: The gateway's id for this execution (``ex-...``).
        text: ``result_text``: stdout followed by the last expression's text, or ``None``.
        stdout: Everything written to standard output.
        stderr: Everything written to standard error.
        results: Every rich output, in order (see :class:`Result`).
        error: The Python exception, or ``None``.
        files: Workspace changes made by the execution (empty without a workspace).
        usage: CPU and memory used, or ``None`` when the server does not measure it.
        timed_out: The execution hit its timeout.
        interrupted: The execution was interrupted on request.
        state_preserved: ``False`` when the kernel holding earlier state was lost.
        truncated: Output exceeded a cap and was cut.
        duration_ms: Time the code ran (queue wait excluded).
        execution_count: The kernel's execution counter.
        detail: The server's one-line summary when the execution did not succeed.
        notice: Something the server wants to report (e.g. a kernel replaced meanwhile).
        raw: The response body as a dict.
    """

    execution_id: Optional[str]
    text: Optional[str]
    stdout: str
    stderr: str
    results: list[Result]
    error: Optional[ExecutionError]
    files: list[FileChange]
    usage: Optional[Usage]
    timed_out: bool
    interrupted: bool
    state_preserved: bool
    truncated: bool
    duration_ms: Optional[float]
    execution_count: Optional[int]
    detail: Optional[str] = None
    notice: Optional[str] = None
    files_truncated: bool = False
    raw: dict[str, Any] = field(repr=False, default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Execution":
        """Build an Execution from an ``/execute`` response body (or a ``done`` event)."""
        error = d.get("error")
        usage = d.get("usage")
        return cls(
            execution_id=d.get("execution_id"),
            text=d.get("result_text"),
            stdout=d.get("stdout") or "",
            stderr=d.get("stderr") or "",
            results=[Result.from_dict(o) for o in d.get("outputs") or []],
            error=ExecutionError.from_dict(error) if isinstance(error, dict) else None,
            files=[FileChange.from_dict(f) for f in d.get("files") or []],
            usage=Usage.from_dict(usage) if isinstance(usage, dict) else None,
            timed_out=bool(d.get("timed_out")),
            interrupted=bool(d.get("interrupted")),
            state_preserved=bool(d.get("state_preserved", True)),
            truncated=bool(d.get("truncated")),
            duration_ms=d.get("duration_ms"),
            execution_count=d.get("execution_count"),
            detail=d.get("detail") if isinstance(d.get("detail"), str) else None,
            notice=d.get("notice"),
            files_truncated=bool(d.get("files_truncated")),
            raw=d,
        )

    @property
    def ok(self) -> bool:
        """``True`` when the code ran to completion without an exception."""
        return (self.error is None and self.detail is None
                and not self.timed_out and not self.interrupted)

    @property
    def png(self) -> Optional[bytes]:
        """The last PNG among the results (``result_base64``, decoded), or ``None``."""
        return _b64(self.raw.get("result_base64"))

    @property
    def images(self) -> list[bytes]:
        """Every PNG among the results, in order."""
        return [r.png for r in self.results if r.png is not None]
