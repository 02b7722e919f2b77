"""A lean HTTP/1.1 client for one sink: a kept-alive connection, requests pipelined.

The payload logger posts two small events per inference on the serving process's own CPU; a
general client (aiohttp's) costs several times a request's own handling there. This one writes
every queued request in one go on a kept-alive connection and reads the answers in order
(RFC 9112 pipelining), parsing only what it needs: the status, Content-Length or chunked
bodies, and `Connection: close`.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_HEADER_BYTES = 64 * 1024


class ConnectionLostError(Exception):
    """The connection closed, broke or timed out before every answer came; `answered` holds
    the statuses of those that did (the rest are not known to be delivered)."""

    answered: list[int]


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    path: str
    tls: bool

    @classmethod
    def parse(cls, url: str) -> Target:
        parts = urlsplit(url)
        tls = parts.scheme.lower() == "https"
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        return cls(parts.hostname or "", parts.port or (443 if tls else 80), path, tls)

    @property
    def host_header(self) -> str:
        default = 443 if self.tls else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"


class Connection:
    """One kept-alive connection; `exchange` sends requests and returns their statuses."""

    def __init__(self, target: Target, *, tls: ssl.SSLContext | None) -> None:
        self.target = target
        self.tls = tls
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def exchange(self, requests: list[bytes], *, answer_within: float) -> list[int]:
        """Statuses of the leading requests answered: all of them, unless the sink closed the
        connection early (the rest were not handled and may be sent again). `answer_within`
        bounds the connect and each answer (a slow sink answering in turn is not a failure)."""
        if self._writer is None or self._writer.is_closing():
            async with asyncio.timeout(answer_within):
                await self._connect()
        assert self._reader is not None and self._writer is not None
        statuses: list[int] = []
        loop = asyncio.get_running_loop()
        try:
            self._writer.write(b"".join(requests))
            async with asyncio.timeout(None) as deadline:
                for _ in requests:
                    deadline.reschedule(loop.time() + answer_within)
                    status, keep = await self._answer(self._reader)
                    statuses.append(status)
                    if not keep:
                        self.close()
                        break
            return statuses
        except (
            OSError,
            TimeoutError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ValueError,
        ) as exc:
            self.close()
            error = ConnectionLostError(f"{type(exc).__name__}: {exc}")
            error.answered = statuses
            raise error from exc

    async def _connect(self) -> None:
        host = self.target.host
        self._reader, self._writer = await asyncio.open_connection(
            host,
            self.target.port,
            ssl=self.tls if self.target.tls else None,
            server_hostname=host if self.target.tls else None,
            limit=MAX_HEADER_BYTES,
        )

    @staticmethod
    async def _answer(reader: asyncio.StreamReader) -> tuple[int, bool]:
        """One answer: its status, and whether the connection stays open after it."""
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            version, status_text = lines[0].split(" ", 2)[:2]
            status = int(status_text)
            if status >= 200 or status == 101:
                break  # 1xx interim answers (100 Continue) precede the real one
        length: int | None = None
        chunked = False
        keep = version == "HTTP/1.1"
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            value = value.strip()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding":
                chunked = "chunked" in value.lower()
            elif name == "connection":
                keep = value.lower() != "close" and (keep or value.lower() == "keep-alive")
        if chunked:
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
                if size == 0:
                    while await reader.readuntil(b"\r\n") != b"\r\n":
                        pass  # trailers
                    break
                await reader.readexactly(size + 2)
        elif length is not None:
            await reader.readexactly(length)
        elif status not in (204, 304):
            await reader.read()  # a body to the end of the connection
            keep = False
        return status, keep

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None


def request(target: Target, *, headers: bytes, body: bytes) -> bytes:
    """A POST with `headers` (already `Name: value\\r\\n` lines) and `body`."""
    return b"".join(
        (
            b"POST ",
            target.path.encode("latin-1"),
            b" HTTP/1.1\r\nHost: ",
            target.host_header.encode("latin-1"),
            b"\r\nContent-Length: ",
            str(len(body)).encode(),
            b"\r\n",
            headers,
            b"\r\n",
            body,
        )
    )
