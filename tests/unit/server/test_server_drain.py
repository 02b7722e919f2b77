"""SIGTERM during uploads (real process, real signal, real sockets): requests whose bodies are
still arriving are read and answered, and the process exits once they are, not after the whole
grace period."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import textwrap
import time

import orjson

from .test_main import start, wait_ready

SERVER = textwrap.dedent(
    """
    import logging, sys
    from kserve_server import server
    from kserve_server.inference import PredictResponse
    from kserve_server.runtimes.base import Model
    from kserve_server.settings import ServerSettings

    class Count(Model):
        def predict(self, request):
            return PredictResponse(predictions=[len(request.instances)])

    logging.basicConfig(level="INFO")
    sys.exit(server.run(ServerSettings(host="127.0.0.1", http_port=0, grace_period=30),
                        models=[Count("count")]))
    """
)
BODY = orjson.dumps({"instances": list(range(20_000))})  # ~110 KB


async def upload(port: int, *, started: asyncio.Event, go_on: asyncio.Event) -> bytes:
    """Headers and half the body; the rest in slow pieces once `go_on` is set."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = f"POST /v1/models/count:predict HTTP/1.1\r\nHost: x\r\nContent-Length: {len(BODY)}"
    writer.write(f"{head}\r\n\r\n".encode() + BODY[: len(BODY) // 2])
    await writer.drain()
    started.set()
    await go_on.wait()
    rest = BODY[len(BODY) // 2 :]
    for at in range(0, len(rest), len(rest) // 10 + 1):
        await asyncio.sleep(0.1)  # still arriving a second after the signal
        writer.write(rest[at : at + len(rest) // 10 + 1])
        await writer.drain()
    response = await asyncio.wait_for(reader.read(), 30)  # to EOF: the server closes
    writer.close()
    return response


async def test_sigterm_answers_uploads_in_flight_then_exits_at_once() -> None:
    proc, port, _ = start([], script=SERVER)
    try:
        await asyncio.to_thread(wait_ready, port)
        go_on = asyncio.Event()
        started = [asyncio.Event() for _ in range(3)]
        uploads = [asyncio.create_task(upload(port, started=s, go_on=go_on)) for s in started]
        await asyncio.gather(*(s.wait() for s in started))
        await asyncio.sleep(0.3)  # the server has the headers: three requests in flight
        signalled = time.monotonic()
        os.kill(proc.pid, signal.SIGTERM)
        await asyncio.sleep(0.3)
        with socket.socket() as probe:  # no new connections once draining
            assert probe.connect_ex(("127.0.0.1", port)) != 0
        go_on.set()
        for response in await asyncio.gather(*uploads):
            assert response.startswith(b"HTTP/1.1 200 OK"), response[:200]
            assert b"Connection: close" in response
            assert response.endswith(b'{"predictions":[20000]}')
        code = await asyncio.to_thread(proc.wait, 30)
        took = time.monotonic() - signalled
        assert code == 0
        # bodies took ~1 s after the signal; the grace period is 30 s
        assert took < 10, f"exited {took:.2f} s after SIGTERM"
    finally:
        if proc.poll() is None:
            proc.kill()


async def keepalive_request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
    """One request on an open connection; the response's head and body."""
    body = orjson.dumps({"instances": [1, 2]})
    head = f"POST /v1/models/count:predict HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}"
    writer.write(f"{head}\r\n\r\n".encode() + body)
    await writer.drain()
    response = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    length = int(next(
        line.split(b":")[1] for line in response.split(b"\r\n")
        if line.lower().startswith(b"content-length")
    ))  # fmt: skip
    return response + await asyncio.wait_for(reader.readexactly(length), 10)


async def test_sigterm_answers_the_next_request_on_an_idle_keepalive_connection() -> None:
    # A client that sent on its idle connection as the server closed it would lose the request;
    # instead the connection is answered once more, with Connection: close.
    proc, port, _ = start([], script=SERVER)
    try:
        await asyncio.to_thread(wait_ready, port)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        first = await keepalive_request(reader, writer)
        assert first.startswith(b"HTTP/1.1 200 OK") and b"Connection: close" not in first
        signalled = time.monotonic()
        os.kill(proc.pid, signal.SIGTERM)
        await asyncio.sleep(0.5)  # the drain is over (nothing was in flight); the client idles
        second = await keepalive_request(reader, writer)
        assert second.startswith(b"HTTP/1.1 200 OK"), second[:200]
        assert b"Connection: close" in second
        assert second.endswith(b'{"predictions":[2]}')
        assert await asyncio.wait_for(reader.read(), 10) == b""  # then the server closes it
        writer.close()
        code = await asyncio.to_thread(proc.wait, 30)
        assert code == 0
        assert time.monotonic() - signalled < 1.5  # no connection left: no need to linger on
    finally:
        if proc.poll() is None:
            proc.kill()


async def test_an_idle_connection_never_used_again_holds_the_exit_only_briefly() -> None:
    proc, port, _ = start([], script=SERVER)
    try:
        await asyncio.to_thread(wait_ready, port)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await keepalive_request(reader, writer)
        signalled = time.monotonic()
        os.kill(proc.pid, signal.SIGTERM)
        assert await asyncio.wait_for(reader.read(), 10) == b""  # closed after the linger
        code = await asyncio.to_thread(proc.wait, 30)
        took = time.monotonic() - signalled
        assert code == 0
        assert 1.5 < took < 5, f"exited {took:.2f} s after SIGTERM"
        writer.close()
    finally:
        if proc.poll() is None:
            proc.kill()
