"""The logger's delivery on a real socket: pipelined posts, the sink's answers (chunked, interim
100, Connection: close), retries of 5xx, 4xx refused for good, a dead sink, drain on close."""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest

from kserve_server.payload import events, http_post
from kserve_server.payload.sink import CloudEventSink
from kserve_server.payload_settings import LoggerSettings

AT = datetime.datetime(2026, 12, 7, tzinfo=datetime.UTC)


@dataclass
class RawSink:
    """An HTTP/1.1 server on loopback whose answer to the n-th request is `answer(n)`."""

    answer: Callable[[int], bytes]
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    connections: int = 0
    port: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode().split("\r\n")[1:-2]
                headers = {k.strip(): v.strip() for k, _, v in (x.partition(":") for x in lines)}
                body = await reader.readexactly(int(headers["Content-Length"]))
                self.requests.append((headers, body))
                reply = self.answer(len(self.requests))
                writer.write(reply)
                await writer.drain()
                if b"Connection: close" in reply:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[RawSink], asyncio.Future[RawSink]]]:
    servers: list[asyncio.Server] = []

    async def start(sink: RawSink) -> RawSink:
        server = await asyncio.start_server(sink.handle, "127.0.0.1", 0)
        servers.append(server)
        sink.port = server.sockets[0].getsockname()[1]
        return sink

    yield start  # type: ignore[misc]
    for server in servers:
        server.close()


OK = b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n"


def _record(n: int) -> events.LogRecord:
    return events.LogRecord(
        id=f"id-{n}",
        type=events.REQUEST_TYPE,
        body=b'{"n": %d}' % n,
        content_type="application/json",
        time=AT,
    )


def _sink(port: int, **settings: object) -> CloudEventSink:
    config = LoggerSettings.model_validate(
        {"url": f"http://127.0.0.1:{port}/events", "retry_delay": 0.01, **settings}
    )
    return CloudEventSink(config, origin=events.Origin(source="test"))


async def _deliver(sink: CloudEventSink, count: int) -> None:
    await sink.start()
    for n in range(count):
        sink.submit(_record(n))
    await sink.close()


async def test_pipelined_requests_each_get_their_answer(serve: object) -> None:
    raw = await serve(RawSink(lambda n: OK))  # type: ignore[operator]
    sink = _sink(raw.port, workers=1)
    await _deliver(sink, 50)
    assert sink.stats.sent == 50 and sink.stats.failed == 0
    assert raw.connections == 1  # kept alive
    assert [body for _, body in raw.requests] == [b'{"n": %d}' % n for n in range(50)]
    headers = raw.requests[3][0]
    assert headers["Ce-Id"] == "id-3" and headers["Ce-Source"] == "test"
    assert headers["Host"] == f"127.0.0.1:{raw.port}"


async def test_chunked_and_interim_answers_are_read(serve: object) -> None:
    chunked = (
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
    )
    raw = await serve(RawSink(lambda n: chunked))  # type: ignore[operator]
    sink = _sink(raw.port, workers=1)
    await _deliver(sink, 5)
    assert sink.stats.sent == 5 and raw.connections == 1


async def test_a_sink_closing_after_each_answer_gets_every_event(serve: object) -> None:
    closing = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
    raw = await serve(RawSink(lambda n: closing))  # type: ignore[operator]
    sink = _sink(raw.port, workers=1)
    await _deliver(sink, 10)
    assert sink.stats.sent == 10 and sink.stats.retries == 0
    assert len(raw.requests) == 10 and raw.connections == 10


async def test_5xx_is_retried_4xx_is_not(serve: object) -> None:
    def answer(n: int) -> bytes:
        if n == 1:
            return b"HTTP/1.1 503 Busy\r\nContent-Length: 0\r\n\r\n"
        if n == 2:
            return b"HTTP/1.1 400 Bad\r\nContent-Length: 0\r\n\r\n"
        return OK

    raw = await serve(RawSink(answer))  # type: ignore[operator]
    sink = _sink(raw.port, workers=1)
    await sink.start()
    sink.submit(_record(0))
    await asyncio.sleep(0.2)  # 503, retried: 400, not retried
    sink.submit(_record(1))
    await sink.close()
    assert (sink.stats.sent, sink.stats.failed, sink.stats.retries) == (1, 1, 1)
    assert [body for _, body in raw.requests] == [b'{"n": 0}', b'{"n": 0}', b'{"n": 1}']


async def test_a_dead_sink_fails_after_the_retries_and_never_blocks_submit() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sink = _sink(port, workers=1, retries=2, queue_size=3, drain_timeout=2)
    await sink.start()
    for n in range(10):
        sink.submit(_record(n))  # returns at once: a full queue drops
    await sink.close()
    assert sink.stats.sent == 0
    assert sink.stats.dropped >= 6
    assert sink.stats.failed + sink.stats.dropped == 10
    assert sink.stats.retries >= 2


def test_targets_keep_path_query_and_port() -> None:
    target = http_post.Target.parse("https://sink.example:8443/a/b?x=1")
    assert (target.host, target.port, target.path, target.tls) == (
        "sink.example",
        8443,
        "/a/b?x=1",
        True,
    )
    assert http_post.Target.parse("http://sink/").host_header == "sink"


@pytest.mark.parametrize("skip_verify", [True, False])
async def test_an_https_sink_is_verified_unless_told_not_to(skip_verify: bool) -> None:
    import ssl

    import trustme

    ca = trustme.CA()  # not in the system store: only skipping verification reaches it
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    raw = RawSink(lambda n: OK)
    server = await asyncio.start_server(raw.handle, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    try:
        config = LoggerSettings(
            url=f"https://127.0.0.1:{port}/",
            retries=0,
            tls_skip_verify=skip_verify,
            drain_timeout=2,
        )
        sink = CloudEventSink(config, origin=events.Origin(source="test"))
        await _deliver(sink, 3)
    finally:
        server.close()
    if skip_verify:
        assert sink.stats.sent == 3 and len(raw.requests) == 3
    else:
        assert sink.stats.sent == 0 and sink.stats.failed == 3 and raw.requests == []
