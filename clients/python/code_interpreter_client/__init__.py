"""Python SDK for the code-interpreter gateway: run Python in stateful, sandboxed kernels.

    from code_interpreter_client import Client

    with Client() as client, client.session() as session:
        session.run("x = 21")
        print(session.run("x * 2").text)  # 42
"""

from .client import AsyncClient, Client
from .errors import (
    AuthenticationError,
    CodeInterpreterError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    NotSupportedError,
    PayloadTooLargeError,
    RateLimitError,
    StorageFullError,
    TransportError,
    UnavailableError,
)
from .events import (
    ClearEvent,
    DisplayEvent,
    DoneEvent,
    DroppedEvent,
    ErrorEvent,
    Event,
    FilesEvent,
    ResultEvent,
    StartEvent,
    StreamEvent,
)
from .files import AsyncFiles, Files
from .models import (
    DirectoryListing,
    Execution,
    ExecutionError,
    FileChange,
    FileEntry,
    Result,
    UploadedFile,
    Usage,
)
from .session import AsyncSession, Session

__version__ = "0.1.0"

__all__ = [
    "AsyncClient", "AsyncFiles", "AsyncSession", "AuthenticationError", "ClearEvent",
    "Client", "CodeInterpreterError", "ConflictError", "DirectoryListing", "DisplayEvent",
    "DoneEvent", "DroppedEvent", "ErrorEvent", "Event", "Execution", "ExecutionError",
    "FileChange", "FileEntry", "Files", "FilesEvent", "InvalidRequestError", "NotFoundError",
    "NotSupportedError", "PayloadTooLargeError", "RateLimitError", "Result", "ResultEvent",
    "Session", "StartEvent", "StorageFullError", "StreamEvent", "TransportError",
    "UnavailableError", "UploadedFile", "Usage", "__version__",
]
