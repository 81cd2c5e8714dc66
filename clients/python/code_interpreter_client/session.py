"""Sessions: one user's stateful kernel on the gateway (``Session`` and ``AsyncSession``)."""

from __future__ import annotations

import inspect
import uuid
from typing import TYPE_CHECKING, Any, AsyncIterator, Iterator, Mapping, Optional

from . import _http
from ._http import Callback
from .errors import CodeInterpreterError
from .events import DoneEvent, Event, parse_event
from .files import AsyncFiles, Files
from .models import Execution

if TYPE_CHECKING:
    from .client import AsyncClient, Client

__all__ = ["Session", "AsyncSession"]


class _SessionBase:
    """What both kinds of session share: the user id, environment, limits and bodies."""

    def __init__(
        self,
        user_uuid: Optional[str],
        environment: Optional[str],
        limits: Optional[Mapping[str, float]],
    ) -> None:
        self.user_uuid: str = user_uuid or str(uuid.uuid4())
        self.environment = environment
        self.limits = dict(limits) if limits else None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(user_uuid={self.user_uuid!r})"

    def _body(self, code: str, timeout: Optional[float]) -> dict[str, Any]:
        return _http.execute_body(self.user_uuid, code, timeout, self.environment, self.limits)

    def _wait(self, timeout: Optional[float], default: float) -> Optional[float]:
        """How long a plain run waits for its answer."""
        limit = timeout or (self.limits or {}).get("timeout") or default
        return float(limit) + _http.READ_MARGIN

    def _params(self, **extra: Any) -> dict[str, str]:
        return _http.file_params(self.user_uuid, self.environment, self.limits, **extra)

    @staticmethod
    def _parse(line: str) -> Optional[Event]:
        try:
            return parse_event(line)
        except ValueError as exc:
            raise CodeInterpreterError(f"malformed event in the stream: {exc}") from exc


class Session(_SessionBase):
    """A user's session: code run through it shares one kernel, so state persists.

    Use it as a context manager to release the session (and its kernel and workspace) on
    exit. Create it with :meth:`Client.session`.
    """

    def __init__(
        self,
        client: "Client",
        user_uuid: Optional[str] = None,
        environment: Optional[str] = None,
        limits: Optional[Mapping[str, float]] = None,
    ) -> None:
        super().__init__(user_uuid, environment, limits)
        self._client = client
        #: The session's workspace (``/sandbox``).
        self.files = Files(client, self)

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            self.release()
        except CodeInterpreterError:
            if exc_type is None:
                raise

    def run(
        self,
        code: str,
        timeout: Optional[float] = None,
        on_stdout: Optional[Callback] = None,
        on_stderr: Optional[Callback] = None,
        on_display: Optional[Callback] = None,
    ) -> Execution:
        """Run ``code`` and return its :class:`Execution` (also when the code raised).

        Args:
            code: Python (IPython) source.
            timeout: Seconds the code may run (the server's default when ``None``).
            on_stdout: Called with each chunk of stdout as it arrives.
            on_stderr: Called with each chunk of stderr as it arrives.
            on_display: Called with each :class:`Result` (displays and the final value).

        With any callback the execution is streamed and the callbacks run in this thread
        while the code runs. Raises a :class:`CodeInterpreterError` when the request is
        refused or the connection fails.
        """
        if on_stdout or on_stderr or on_display:
            for event in self.stream(code, timeout):
                picked = _http.pick_callback(event, on_stdout, on_stderr, on_display)
                if picked:
                    picked[0](picked[1])
                if isinstance(event, DoneEvent):
                    return event.execution
            raise _http.stream_ended()  # not reached: stream() ends with done or raises
        client = self._client
        read = self._wait(timeout, client.execution_timeout)
        with _http.translate_errors():
            r = client._http.post(
                "/execute", json=self._body(code, timeout),
                timeout=_http.with_read(client.timeout, read),
            )
        return _http.execution_or_raise(r.status_code, r.content, r.headers)

    def stream(self, code: str, timeout: Optional[float] = None) -> Iterator[Event]:
        """Run ``code`` and yield its events as they happen, ``StartEvent`` ... ``DoneEvent``.

        A refusal raises a :class:`CodeInterpreterError`, whether it comes before the
        code starts (the plain error answer) or during the run (the session released:
        :class:`ConflictError`). The stream has no read timeout (the server bounds the
        execution). Leaving the iteration early closes the connection, which makes the
        server abandon (interrupt) the execution.
        """
        client = self._client
        done: Optional[DoneEvent] = None
        with _http.translate_errors(), client._http.stream(
            "POST", "/execute", json=self._body(code, timeout),
            headers={"Accept": _http.NDJSON}, timeout=_http.with_read(client.timeout, None),
        ) as r:
            if not _http.is_stream(r.headers):
                r.read()
                done = _http.done_of(r.status_code, r.content, r.headers)
            else:
                for line in r.iter_lines():
                    event = self._parse(line)
                    if isinstance(event, DoneEvent):
                        done = event  # read on to the end: the connection stays reusable
                    elif event is not None and done is None:
                        yield event
        yield _http.checked_done(done)

    def interrupt(self) -> bool:
        """Interrupt the running execution; ``False`` when nothing was running.

        The interrupted run's own answer tells how it ended (``interrupted``,
        ``state_preserved``). Safe to call from another thread.
        """
        r = self._client._request("POST", "/interrupt", json={"user_uuid": self.user_uuid})
        return bool(r.json().get("interrupted"))

    def release(self) -> None:
        """End the session: its kernel and workspace are destroyed. Idempotent."""
        self._client._request("POST", "/release", json={"user_uuid": self.user_uuid})


class AsyncSession(_SessionBase):
    """The asynchronous :class:`Session`; callbacks may be plain functions or coroutines."""

    def __init__(
        self,
        client: "AsyncClient",
        user_uuid: Optional[str] = None,
        environment: Optional[str] = None,
        limits: Optional[Mapping[str, float]] = None,
    ) -> None:
        super().__init__(user_uuid, environment, limits)
        self._client = client
        #: The session's workspace (``/sandbox``).
        self.files = AsyncFiles(client, self)

    async def __aenter__(self) -> "AsyncSession":
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            await self.release()
        except CodeInterpreterError:
            if exc_type is None:
                raise

    async def run(
        self,
        code: str,
        timeout: Optional[float] = None,
        on_stdout: Optional[Callback] = None,
        on_stderr: Optional[Callback] = None,
        on_display: Optional[Callback] = None,
    ) -> Execution:
        """Run ``code`` and return its :class:`Execution`; see :meth:`Session.run`."""
        if on_stdout or on_stderr or on_display:
            async for event in self.stream(code, timeout):
                picked = _http.pick_callback(event, on_stdout, on_stderr, on_display)
                if picked:
                    result = picked[0](picked[1])
                    if inspect.isawaitable(result):
                        await result
                if isinstance(event, DoneEvent):
                    return event.execution
            raise _http.stream_ended()  # not reached: stream() ends with done or raises
        client = self._client
        read = self._wait(timeout, client.execution_timeout)
        with _http.translate_errors():
            r = await client._http.post(
                "/execute", json=self._body(code, timeout),
                timeout=_http.with_read(client.timeout, read),
            )
        return _http.execution_or_raise(r.status_code, r.content, r.headers)

    async def stream(self, code: str, timeout: Optional[float] = None) -> AsyncIterator[Event]:
        """Run ``code`` and yield its events as they happen; see :meth:`Session.stream`.

        To leave the iteration early and close the connection at once, wrap the generator
        in ``contextlib.aclosing()`` (else it is closed when it is garbage-collected).
        """
        client = self._client
        done: Optional[DoneEvent] = None
        with _http.translate_errors():
            async with client._http.stream(
                "POST", "/execute", json=self._body(code, timeout),
                headers={"Accept": _http.NDJSON}, timeout=_http.with_read(client.timeout, None),
            ) as r:
                if not _http.is_stream(r.headers):
                    await r.aread()
                    done = _http.done_of(r.status_code, r.content, r.headers)
                else:
                    async for line in r.aiter_lines():
                        event = self._parse(line)
                        if isinstance(event, DoneEvent):
                            done = event
                        elif event is not None and done is None:
                            yield event
        yield _http.checked_done(done)

    async def interrupt(self) -> bool:
        """Interrupt the running execution; ``False`` when nothing was running."""
        r = await self._client._request("POST", "/interrupt", json={"user_uuid": self.user_uuid})
        return bool(r.json().get("interrupted"))

    async def release(self) -> None:
        """End the session: its kernel and workspace are destroyed. Idempotent."""
        await self._client._request("POST", "/release", json={"user_uuid": self.user_uuid})
