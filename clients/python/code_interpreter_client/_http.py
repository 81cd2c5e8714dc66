"""I/O-free helpers shared by the synchronous and the asynchronous clients: configuration,
request bodies, timeouts and the interpretation of responses."""

from __future__ import annotations

import contextlib
import json
import os
from typing import Any, Callable, Iterator, Mapping, Optional, Tuple, Union

import httpx

from .errors import (
    CodeInterpreterError,
    ConflictError,
    TransportError,
    UnavailableError,
    error_from_response,
)
from .events import DisplayEvent, DoneEvent, Event, ResultEvent, StreamEvent
from .models import Execution

DEFAULT_URL = "http://127.0.0.1:3874"
NDJSON = "application/x-ndjson"
#: Seconds for connecting, sending, and reading the answers of calls that run no code.
DEFAULT_TIMEOUT = 30.0
#: Seconds a plain ``run`` without its own timeout is assumed to run at most (the server's
#: default ``--max-exec-timeout``).
DEFAULT_EXECUTION_TIMEOUT = 300.0
#: Added to an execution's timeout for its answer: queue wait, kernel start, transfer.
READ_MARGIN = 60.0

TimeoutLike = Union[float, httpx.Timeout, None]
Callback = Callable[[Any], Any]


def resolve_url(url: Optional[str]) -> str:
    """The gateway's URL: ``url``, else ``$CODE_INTERPRETER_URL``, else the default."""
    return (url or os.environ.get("CODE_INTERPRETER_URL") or DEFAULT_URL).rstrip("/")


def resolve_token(token: Optional[str]) -> Optional[str]:
    """The API token: ``token``, else ``$CODE_INTERPRETER_TOKEN`` (``None`` if neither)."""
    return token or os.environ.get("CODE_INTERPRETER_TOKEN") or None


def base_headers(token: Optional[str]) -> dict[str, str]:
    """Headers sent with every request."""
    headers = {"User-Agent": "code-interpreter-client"}
    if token:
        headers["X-Auth-Token"] = token
    return headers


def to_timeout(timeout: TimeoutLike) -> httpx.Timeout:
    """An httpx.Timeout from seconds (or ``None``: no timeout at all)."""
    return timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)


def with_read(base: httpx.Timeout, read: Optional[float]) -> httpx.Timeout:
    """``base`` with another read timeout (``None``: wait forever)."""
    return httpx.Timeout(connect=base.connect, read=read, write=base.write, pool=base.pool)


def execute_body(
    user_uuid: str,
    code: str,
    timeout: Optional[float],
    environment: Optional[str],
    limits: Optional[Mapping[str, float]],
) -> dict[str, Any]:
    """The JSON body of ``POST /execute``."""
    body: dict[str, Any] = {"user_uuid": user_uuid, "code": code}
    if timeout is not None:
        body["timeout"] = timeout
    if environment is not None:
        body["environment"] = environment
    if limits:
        body["limits"] = dict(limits)
    return body


def file_params(
    user_uuid: str,
    environment: Optional[str],
    limits: Optional[Mapping[str, float]],
    **extra: Any,
) -> dict[str, str]:
    """The query string of a file route (the session's environment and limits included)."""
    params = {"user_uuid": user_uuid}
    if environment is not None:
        params["environment"] = environment
    for name, value in (limits or {}).items():
        params[f"limits.{name}"] = str(value)
    params.update({k: str(v) for k, v in extra.items() if v is not None})
    return params


def is_stream(headers: Mapping[str, str]) -> bool:
    """Whether a response to a streamed request is the event stream (not a plain refusal)."""
    return headers.get("content-type", "").split(";")[0].strip() == NDJSON


def check(status: int, content: bytes, headers: Mapping[str, str]) -> None:
    """Raise the matching :class:`CodeInterpreterError` for a non-2xx answer."""
    if not 200 <= status < 300:
        raise error_from_response(status, content, headers)


def execution_or_raise(status: int, content: bytes, headers: Mapping[str, str]) -> Execution:
    """Turn an ``/execute`` answer into an Execution, or raise if the request was refused.

    A 400 carrying the execution fields (an exception, a timeout, an interrupt, a dead
    kernel) is an execution, not a refusal.
    """
    if status == 200 or status == 400:
        try:
            body = json.loads(content)
        except ValueError:
            body = None
        if isinstance(body, dict) and (status == 200 or "state_preserved" in body):
            return Execution.from_dict(body)
    raise error_from_response(status, content, headers)


@contextlib.contextmanager
def translate_errors() -> Iterator[None]:
    """Re-raise httpx's request errors (connect, read, timeouts...) as TransportError."""
    try:
        yield
    except httpx.RequestError as exc:
        raise TransportError(f"{type(exc).__name__}: {exc}") from exc


def stream_ended() -> CodeInterpreterError:
    """The error for a stream that ended without its ``done`` event."""
    return TransportError("the event stream ended before its 'done' event")


def done_of(status: int, content: bytes, headers: Mapping[str, str]) -> DoneEvent:
    """A plain answer to a streamed request (a refusal: raised) as a DoneEvent."""
    execution = execution_or_raise(status, content, headers)
    return DoneEvent("done", None, execution.raw, execution)


def checked_done(done: Optional[DoneEvent]) -> DoneEvent:
    """The stream's ``done``, or raise if there was none or it carries a refusal.

    Once streaming has started the status is 200 whatever happens; a ``done`` without the
    execution fields is a refusal whose status the plain request would have had. After the
    start only two exist: the session was released or reaped (409), the service is
    shutting down (503).
    """
    if done is None:
        raise stream_ended()
    if "state_preserved" in done.data:
        return done
    detail = done.data.get("detail")
    shutting_down = "shutting down" in str(detail).lower()
    status, cls = (503, UnavailableError) if shutting_down else (409, ConflictError)
    raise cls(f"HTTP {status}: {detail}", status=status, detail=detail, body=done.data)


def pick_callback(
    event: Event,
    on_stdout: Optional[Callback],
    on_stderr: Optional[Callback],
    on_display: Optional[Callback],
) -> Optional[Tuple[Callback, Any]]:
    """The callback an event goes to and its argument, or ``None``."""
    if isinstance(event, StreamEvent):
        callback = on_stdout if event.kind == "stdout" else on_stderr
        return (callback, event.text) if callback else None
    if isinstance(event, (DisplayEvent, ResultEvent)) and on_display:
        return on_display, event.result
    return None
