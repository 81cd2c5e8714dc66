"""Typed events of a streamed execution (``Accept: application/x-ndjson``).

The stream always begins with a :class:`StartEvent` and ends with a :class:`DoneEvent`,
whose ``execution`` is exactly what a plain request would have returned.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Optional

from .models import Execution, ExecutionError, FileChange, Result

__all__ = [
    "Event",
    "StartEvent",
    "StreamEvent",
    "DisplayEvent",
    "ResultEvent",
    "ErrorEvent",
    "ClearEvent",
    "FilesEvent",
    "DoneEvent",
    "DroppedEvent",
    "parse_event",
]


@dataclass
class Event:
    """Any event. ``kind`` is the wire name (``"stdout"``, ``"done"``...), ``data`` its JSON."""

    kind: str
    id: Optional[int]
    data: dict[str, Any] = field(repr=False)


@dataclass
class StartEvent(Event):
    """The code reached a kernel."""

    execution_id: str
    worker_id: Optional[str]


@dataclass
class StreamEvent(Event):
    """A chunk of stdout (``kind == "stdout"``) or stderr (``kind == "stderr"``)."""

    text: str


@dataclass
class DisplayEvent(Event):
    """A rich output from ``display()``, ``plt.show()``... (``update``: it replaces one)."""

    result: Result
    update: bool


@dataclass
class ResultEvent(Event):
    """The value of the last expression."""

    result: Result
    execution_count: Optional[int]


@dataclass
class ErrorEvent(Event):
    """The exception the code raised."""

    error: ExecutionError


@dataclass
class ClearEvent(Event):
    """``clear_output()``: the outputs before it are gone from the final answer too."""

    wait: bool


@dataclass
class FilesEvent(Event):
    """The workspace changes of the execution."""

    files: list[FileChange]


@dataclass
class DoneEvent(Event):
    """The complete answer; always the last event."""

    execution: Execution


@dataclass
class DroppedEvent(Event):
    """This reader was too slow and missed the events with ids ``first`` to ``last``."""

    first: Optional[int]
    last: Optional[int]


def parse_event(line: str) -> Optional[Event]:
    """Parse one NDJSON line into a typed event (``None`` for a blank line)."""
    if not line.strip():
        return None
    obj = json.loads(line)
    kind, eid, data = obj.get("event", ""), obj.get("id"), obj.get("data") or {}
    if kind == "start":
        return StartEvent(kind, eid, data, data.get("execution_id", ""), data.get("worker_id"))
    if kind in ("stdout", "stderr"):
        return StreamEvent(kind, eid, data, data.get("text", ""))
    if kind == "display":
        update = bool(data.get("update"))
        default = "update_display_data" if update else "display_data"
        return DisplayEvent(kind, eid, data, Result.from_dict(data, default), update)
    if kind == "result":
        result = Result.from_dict(data, "execute_result")
        return ResultEvent(kind, eid, data, result, data.get("execution_count"))
    if kind == "error":
        return ErrorEvent(kind, eid, data, ExecutionError.from_dict(data))
    if kind == "clear":
        return ClearEvent(kind, eid, data, bool(data.get("wait")))
    if kind == "files":
        files = [FileChange.from_dict(f) for f in data.get("files") or []]
        return FilesEvent(kind, eid, data, files)
    if kind == "done":
        return DoneEvent(kind, eid, data, Execution.from_dict(data))
    if kind == "dropped":
        return DroppedEvent(kind, eid, data, data.get("from"), data.get("to"))
    return Event(kind, eid, data)
