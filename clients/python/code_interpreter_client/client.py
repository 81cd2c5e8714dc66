"""The entry points: :class:`Client` (blocking) and :class:`AsyncClient` (asyncio)."""

from __future__ import annotations

from typing import Any, Mapping, Optional, Union

import httpx

from . import _http
from ._http import TimeoutLike
from ._transport import sync_transport
from .session import AsyncSession, Session

__all__ = ["Client", "AsyncClient"]


class _ClientBase:
    def __init__(
        self,
        url: Optional[str],
        token: Optional[str],
        timeout: TimeoutLike,
        execution_timeout: float,
    ) -> None:
        #: The gateway's base URL.
        self.url: str = _http.resolve_url(url)
        self._token = _http.resolve_token(token)
        #: Connect/write/pool timeouts, and the read timeout of calls that run no code.
        self.timeout: httpx.Timeout = _http.to_timeout(timeout)
        #: The longest a plain ``run`` without a timeout is assumed to take (plus a margin).
        self.execution_timeout = execution_timeout

    def __repr__(self) -> str:
        return f"{type(self).__name__}(url={self.url!r})"

    def _options(self) -> dict[str, Any]:
        return {"base_url": self.url, "headers": _http.base_headers(self._token),
                "timeout": self.timeout}


class Client(_ClientBase):
    """A blocking client of the code-interpreter gateway.

    Args:
        url: The gateway, e.g. ``http://127.0.0.1:3874`` (default: ``$CODE_INTERPRETER_URL``,
            else that address).
        token: The API token (default: ``$CODE_INTERPRETER_TOKEN``).
        timeout: Seconds for connecting and for calls that run no code (or an
            ``httpx.Timeout``). A plain ``run`` waits for its answer for its own timeout
            (else ``execution_timeout``) plus 60 s, since queue wait is not part of the
            execution's timeout; streams have no read timeout.
        execution_timeout: See ``timeout``; the server's default ``--max-exec-timeout``.
        verify: TLS verification for ``https://`` URLs: ``False``, or a CA bundle's path.
        transport: An httpx transport to use instead of the default one (which sets
            ``TCP_NODELAY``; see ``_transport.py``).

    The client is thread-safe; use it as a context manager, or call :meth:`close`.
    """

    def __init__(
        self,
        url: Optional[str] = None,
        token: Optional[str] = None,
        timeout: TimeoutLike = _http.DEFAULT_TIMEOUT,
        *,
        execution_timeout: float = _http.DEFAULT_EXECUTION_TIMEOUT,
        verify: Union[bool, str] = True,
        transport: Optional[httpx.BaseTransport] = None,
    ) -> None:
        super().__init__(url, token, timeout, execution_timeout)
        transport = transport or sync_transport(verify)
        self._http = httpx.Client(transport=transport, **self._options())

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def session(
        self,
        user_uuid: Optional[str] = None,
        environment: Optional[str] = None,
        limits: Optional[Mapping[str, float]] = None,
    ) -> Session:
        """A :class:`Session` for ``user_uuid`` (a random UUID when ``None``).

        ``environment`` and ``limits`` (``memory_mb``, ``cpus``, ``pids``, ``workspace_mb``,
        ``timeout``, ``max_timeout``) apply when the session is created by its first call.
        Nothing is sent until the session is used.
        """
        return Session(self, user_uuid, environment, limits)

    def status(self) -> dict[str, Any]:
        """``GET /status``: the pool's counters."""
        return self._request("GET", "/status").json()

    def health(self) -> bool:
        """``GET /health``: whether the HTTP server answers."""
        return self._request("GET", "/health").json().get("status") == "ok"

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        with _http.translate_errors():
            r = self._http.request(method, path, **kwargs)
        _http.check(r.status_code, r.content, r.headers)
        return r


class AsyncClient(_ClientBase):
    """The asyncio client: the same API as :class:`Client`, with coroutines.

    Use it as ``async with AsyncClient() as client:``, or ``await client.aclose()``.
    """

    def __init__(
        self,
        url: Optional[str] = None,
        token: Optional[str] = None,
        timeout: TimeoutLike = _http.DEFAULT_TIMEOUT,
        *,
        execution_timeout: float = _http.DEFAULT_EXECUTION_TIMEOUT,
        verify: Union[bool, str] = True,
        transport: Optional[httpx.AsyncBaseTransport] = None,
    ) -> None:
        super().__init__(url, token, timeout, execution_timeout)
        self._http = httpx.AsyncClient(transport=transport, verify=verify, **self._options())

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections."""
        await self._http.aclose()

    def session(
        self,
        user_uuid: Optional[str] = None,
        environment: Optional[str] = None,
        limits: Optional[Mapping[str, float]] = None,
    ) -> AsyncSession:
        """An :class:`AsyncSession`; see :meth:`Client.session`."""
        return AsyncSession(self, user_uuid, environment, limits)

    async def status(self) -> dict[str, Any]:
        """``GET /status``: the pool's counters."""
        return (await self._request("GET", "/status")).json()

    async def health(self) -> bool:
        """``GET /health``: whether the HTTP server answers."""
        return (await self._request("GET", "/health")).json().get("status") == "ok"

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        with _http.translate_errors():
            r = await self._http.request(method, path, **kwargs)
        _http.check(r.status_code, r.content, r.headers)
        return r
