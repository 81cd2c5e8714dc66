"""Exceptions raised by the SDK.

Every refusal of the gateway (a non-2xx answer that is not the result of running code) is
raised as a :class:`CodeInterpreterError` subclass chosen by its HTTP status, carrying the
status, the server's ``detail`` and, for 429 and 503, the ``Retry-After`` delay. A Python
exception inside the kernel is *not* raised: it is an :class:`~.models.Execution` whose
``error`` is set.
"""

from __future__ import annotations

import json
from typing import Any, Mapping, Optional

__all__ = [
    "CodeInterpreterError",
    "TransportError",
    "InvalidRequestError",
    "AuthenticationError",
    "NotFoundError",
    "ConflictError",
    "PayloadTooLargeError",
    "RateLimitError",
    "NotSupportedError",
    "UnavailableError",
    "StorageFullError",
    "error_from_response",
]


class CodeInterpreterError(Exception):
    """Base class of every error the SDK raises.

    Attributes:
        status: The HTTP status code, or ``None`` when no response was received.
        detail: The server's ``detail`` (a string; a list for the ``/api/v1`` 422s), if any.
        body: The decoded JSON body of the response, if it had one.
        retry_after: Seconds from the ``Retry-After`` header, if the server sent one.
    """

    def __init__(
        self,
        message: str,
        *,
        status: Optional[int] = None,
        detail: Any = None,
        body: Any = None,
        retry_after: Optional[float] = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail
        self.body = body
        self.retry_after = retry_after


class TransportError(CodeInterpreterError):
    """The request could not be completed: connection refused or lost, timeout, broken stream."""


class InvalidRequestError(CodeInterpreterError):
    """400 or 422: the request was malformed (bad body, path, timeout, environment...)."""


class AuthenticationError(CodeInterpreterError):
    """401: missing or wrong token."""


class NotFoundError(CodeInterpreterError):
    """404: no such file or directory (or unknown route)."""


class ConflictError(CodeInterpreterError):
    """409: the session was released meanwhile, or a file of the wrong type is in the way."""


class PayloadTooLargeError(CodeInterpreterError):
    """413: the body or the uploaded file is larger than the server allows."""


class RateLimitError(CodeInterpreterError):
    """429: too many executions are queued for this user; see ``retry_after``."""


class NotSupportedError(CodeInterpreterError):
    """501: this server gives sessions no workspace (file routes unavailable)."""


class UnavailableError(CodeInterpreterError):
    """503: no worker available, workers failing to start, or shutting down; see ``retry_after``."""


class StorageFullError(CodeInterpreterError):
    """507: the session's workspace is full."""


_BY_STATUS: dict[int, type[CodeInterpreterError]] = {
    400: InvalidRequestError,
    401: AuthenticationError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    422: InvalidRequestError,
    429: RateLimitError,
    501: NotSupportedError,
    503: UnavailableError,
    507: StorageFullError,
}


def _retry_after(headers: Mapping[str, str]) -> Optional[float]:
    value = headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def error_from_response(
    status: int, content: bytes, headers: Mapping[str, str]
) -> CodeInterpreterError:
    """Build the exception for a refused request from its status, body and headers."""
    body: Any = None
    detail: Any = None
    try:
        body = json.loads(content) if content else None
    except ValueError:
        detail = content.decode("utf-8", "replace").strip() or None
    if isinstance(body, dict):
        detail = body.get("detail")
    cls = _BY_STATUS.get(status, CodeInterpreterError)
    message = f"HTTP {status}: {detail}" if detail is not None else f"HTTP {status}"
    return cls(
        message, status=status, detail=detail, body=body, retry_after=_retry_after(headers)
    )
