"""A session's workspace (``/sandbox``): upload, download, list and remove files.

Paths are absolute under ``/sandbox`` (``/sandbox/data/in.csv``) or relative to it
(``data/in.csv``).
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, AsyncIterator, BinaryIO, Union

from . import _http
from .errors import error_from_response
from .models import DirectoryListing, UploadedFile

if TYPE_CHECKING:
    from .client import AsyncClient, Client
    from .session import _SessionBase

__all__ = ["Files", "AsyncFiles", "Source"]

#: What can be uploaded: a local file's path, the bytes themselves, or a binary file object.
Source = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, BinaryIO]

_CHUNK = 256 * 1024


def _target(path: str, local_path: Union[str, "os.PathLike[str]"]) -> Path:
    """Where a download goes: ``local_path``, or the remote name inside it if it is a dir."""
    target = Path(local_path)
    if target.is_dir():
        target = target / PurePosixPath(path).name
    return target


def _part(target: Path) -> Path:
    return target.with_name(target.name + ".part")


class Files:
    """The workspace of a :class:`Session` (``session.files``)."""

    def __init__(self, client: "Client", session: "_SessionBase") -> None:
        self._client = client
        self._session = session

    def upload(self, source: Source, path: str) -> UploadedFile:
        """Write ``source`` to ``path`` in the workspace (parents created, atomic).

        ``source`` is a local file's path (``str`` or ``os.PathLike``), ``bytes``, or a
        binary file object (read in chunks).
        """
        params = self._session._params(path=path)
        if isinstance(source, (bytes, bytearray, memoryview)):
            r = self._client._request("PUT", "/files", params=params, content=bytes(source))
        elif isinstance(source, (str, os.PathLike)):
            with open(source, "rb") as f:
                r = self._client._request("PUT", "/files", params=params, content=f)
        else:
            r = self._client._request("PUT", "/files", params=params, content=source)
        return UploadedFile.from_dict(r.json())

    def download(
        self, path: str, local_path: Union[str, "os.PathLike[str]", None] = None
    ) -> Union[bytes, Path]:
        """Fetch ``path``: its bytes, or, given ``local_path``, save it there and return it.

        A ``local_path`` that is a directory receives the file under its own name. The
        file is written to ``<name>.part`` and renamed when complete.
        """
        params = self._session._params(path=path)
        if local_path is None:
            return self._client._request("GET", "/files", params=params).content
        target = _target(path, local_path)
        with _http.translate_errors(), self._client._http.stream(
            "GET", "/files", params=params
        ) as r:
            if r.status_code != 200:
                r.read()
                raise error_from_response(r.status_code, r.content, r.headers)
            part = _part(target)
            try:
                with open(part, "wb") as f:
                    for chunk in r.iter_bytes():
                        f.write(chunk)
                os.replace(part, target)
            except BaseException:
                part.unlink(missing_ok=True)
                raise
        return target

    def list(self, path: str = "/sandbox") -> DirectoryListing:
        """The entries of the directory ``path`` (sorted by name, at most 1000)."""
        r = self._client._request("GET", "/files/list", params=self._session._params(path=path))
        return DirectoryListing.from_dict(r.json())

    def remove(self, path: str, recursive: bool = False) -> None:
        """Delete a file, link or (with ``recursive=True``) a directory tree."""
        params = self._session._params(path=path, recursive="true" if recursive else None)
        self._client._request("DELETE", "/files", params=params)


async def _chunks(f: BinaryIO) -> AsyncIterator[bytes]:
    while True:
        chunk = f.read(_CHUNK)
        if not chunk:
            return
        yield chunk


class AsyncFiles:
    """The workspace of an :class:`AsyncSession`; the same methods as :class:`Files`."""

    def __init__(self, client: "AsyncClient", session: "_SessionBase") -> None:
        self._client = client
        self._session = session

    async def upload(self, source: Source, path: str) -> UploadedFile:
        """Write ``source`` to ``path`` in the workspace; see :meth:`Files.upload`."""
        params = self._session._params(path=path)
        if isinstance(source, (bytes, bytearray, memoryview)):
            r = await self._client._request("PUT", "/files", params=params, content=bytes(source))
        elif isinstance(source, (str, os.PathLike)):
            with open(source, "rb") as f:
                headers = {"Content-Length": str(os.fstat(f.fileno()).st_size)}
                r = await self._client._request(
                    "PUT", "/files", params=params, content=_chunks(f), headers=headers
                )
        else:
            r = await self._client._request("PUT", "/files", params=params, content=_chunks(source))
        return UploadedFile.from_dict(r.json())

    async def download(
        self, path: str, local_path: Union[str, "os.PathLike[str]", None] = None
    ) -> Union[bytes, Path]:
        """Fetch ``path``: its bytes, or save it to ``local_path``; see :meth:`Files.download`."""
        params = self._session._params(path=path)
        if local_path is None:
            return (await self._client._request("GET", "/files", params=params)).content
        target = _target(path, local_path)
        with _http.translate_errors():
            async with self._client._http.stream("GET", "/files", params=params) as r:
                if r.status_code != 200:
                    await r.aread()
                    raise error_from_response(r.status_code, r.content, r.headers)
                part = _part(target)
                try:
                    with open(part, "wb") as f:
                        async for chunk in r.aiter_bytes():
                            f.write(chunk)
                    os.replace(part, target)
                except BaseException:
                    part.unlink(missing_ok=True)
                    raise
        return target

    async def list(self, path: str = "/sandbox") -> DirectoryListing:
        """The entries of the directory ``path``."""
        params = self._session._params(path=path)
        r = await self._client._request("GET", "/files/list", params=params)
        return DirectoryListing.from_dict(r.json())

    async def remove(self, path: str, recursive: bool = False) -> None:
        """Delete a file, link or (with ``recursive=True``) a directory tree."""
        params = self._session._params(path=path, recursive="true" if recursive else None)
        await self._client._request("DELETE", "/files", params=params)
