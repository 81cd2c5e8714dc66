"""The synchronous client's httpx transport, with ``TCP_NODELAY`` on its connections.

httpx writes a request's head and its body with two ``send`` calls. With Nagle's algorithm
on, the body waits for the server to acknowledge the head, which a Linux peer delays by up
to 40 ms: every small ``run`` would cost ~40 ms more than the execution. asyncio already
sets ``TCP_NODELAY`` on its TCP connections, so only the blocking client needs this.

httpx >= 0.24.1 takes ``socket_options``; older versions (Debian 12's 0.23) get a wrapper
around the connection pool's network backend, which sets the option on each new socket.
"""

from __future__ import annotations

import socket
from typing import Any, Union

import httpx

_NODELAY = (socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _NoDelayBackend:
    """Wraps an httpcore network backend: its TCP streams get ``TCP_NODELAY``."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def connect_tcp(self, *args: Any, **kwargs: Any) -> Any:
        stream = self._inner.connect_tcp(*args, **kwargs)
        sock = stream.get_extra_info("socket")
        if isinstance(sock, socket.socket):
            try:
                sock.setsockopt(*_NODELAY)
            except OSError:
                pass
        return stream

    def __getattr__(self, name: str) -> Any:  # connect_unix_socket, sleep
        return getattr(self._inner, name)


def sync_transport(verify: Union[bool, str] = True) -> httpx.HTTPTransport:
    """An ``httpx.HTTPTransport`` whose TCP connections have ``TCP_NODELAY`` set."""
    try:
        return httpx.HTTPTransport(verify=verify, socket_options=[_NODELAY])  # type: ignore
    except TypeError:  # httpx < 0.24.1
        transport = httpx.HTTPTransport(verify=verify)
    pool = getattr(transport, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if backend is not None:
        pool._network_backend = _NoDelayBackend(backend)  # type: ignore[union-attr]
    return transport
