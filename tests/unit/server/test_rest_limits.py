"""Resource bounds a client cannot stretch, against the real server over real sockets: body size
(decompressed, checked while inflating), body read timeouts, and the decoding budget."""

from __future__ import annotations

import asyncio
import gzip
import textwrap
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import orjson
import pytest

from kserve_server import server
from kserve_server.errors import Overloaded
from kserve_server.inference import PredictRequest, PredictResponse, Request, Response
from kserve_server.rest.decoding import Decoding, DecodingLimits
from kserve_server.runtimes.base import Model
from kserve_server.settings import ServerSettings

from .conftest import exchange
from .test_main import start as start_process
from .test_main import wait_ready

PREDICT = "/v1/models/echo:predict"
KIB = 1024


class Echo(Model):
    """Echoes the instance count; `[seconds, ...]` as the first instance sleeps that long."""

    def predict(self, request: Request) -> Response:
        assert isinstance(request, PredictRequest)
        first = request.instances[0]
        if isinstance(first, float):
            time.sleep(first)
        return PredictResponse(predictions=[len(request.instances)])


Start = Callable[..., Awaitable[str]]


@pytest.fixture
async def start() -> AsyncIterator[Start]:
    """start(**settings) → base URL of a running server with the echo model."""
    running: list[server.RunningServer] = []

    async def go(**kwargs: Any) -> str:
        settings = ServerSettings(host="127.0.0.1", http_port=0, grace_period=5, **kwargs)
        one = await server.start(settings, models=[Echo("echo")])
        running.append(one)
        await asyncio.wait_for(asyncio.shield(one.repository.loading), 30)  # type: ignore[arg-type]
        return f"http://127.0.0.1:{one.port}"

    yield go
    for one in running:
        one.stop()
        await one.wait()


def instances(count: int, first: float = 0) -> bytes:
    return orjson.dumps({"instances": [first, *[0] * (count - 1)]})


async def test_a_declared_length_over_the_limit_is_413_before_reading(start: Start) -> None:
    base = await start(max_body_bytes=4 * KIB)
    async with aiohttp.ClientSession() as http:
        resp = await http.post(base + PREDICT, data=instances(5000))
        assert resp.status == 413
        assert "at most 4096 bytes" in (await resp.json())["error"]


async def test_a_chunked_body_over_the_limit_is_413(start: Start) -> None:
    base = await start(max_body_bytes=4 * KIB)

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b" " * KIB

    async with aiohttp.ClientSession() as http:
        resp = await http.post(base + PREDICT, data=chunks())
        assert resp.status == 413


async def test_a_whole_chunked_body_sent_with_its_headers_is_413_over_the_limit(
    start: Start,
) -> None:
    # one write: the server has the whole body before the handler reads it (no length declared)
    base = await start(max_body_bytes=4 * KIB)
    port = int(base.rsplit(":", 1)[1])
    body = instances(3000)
    head = f"POST {PREDICT} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
    chunked = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    answer = await asyncio.wait_for(exchange(port, head + chunked), 10)
    assert answer.status == 413
    assert "at most 4096 bytes are accepted; the body is larger" in answer.error()


async def test_a_gzip_bomb_is_413_while_it_inflates(start: Start) -> None:
    base = await start(max_body_bytes=1024 * KIB)
    bomb = gzip.compress(b'{"instances": [' + b" " * (32 * 1024 * KIB) + b"0]}")
    assert len(bomb) < 64 * KIB  # 32 MiB inflated
    async with aiohttp.ClientSession() as http:
        resp = await http.post(base + PREDICT, data=bomb, headers={"Content-Encoding": "gzip"})
        assert resp.status == 413
        assert "Request body too large" in (await resp.json())["error"]
        ok = await http.post(
            base + PREDICT,
            data=gzip.compress(instances(3)),
            headers={"Content-Encoding": "gzip"},
        )
        assert await ok.json() == {"predictions": [3]}


async def test_a_body_whose_first_byte_never_comes_is_408(start: Start) -> None:
    base = await start(body_first_byte_timeout=0.5)
    port = int(base.rsplit(":", 1)[1])
    head = f"POST {PREDICT} HTTP/1.1\r\nHost: x\r\nContent-Length: 20\r\n\r\n".encode()
    answer = await asyncio.wait_for(exchange(port, head), 10)
    assert answer.status == 408
    assert "first byte of the body did not arrive within 0.5 s" in answer.error()


async def test_a_body_trickling_past_the_total_timeout_is_408(start: Start) -> None:
    base = await start(body_read_timeout=1.0)
    port = int(base.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"POST {PREDICT} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n".encode())
    started = time.monotonic()
    try:
        while not reader.at_eof() and time.monotonic() - started < 10:
            writer.write(b" ")  # one byte every 100 ms: never idle, never done
            await writer.drain()
            try:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 0.1)
            except TimeoutError:
                continue
            assert head.startswith(b"HTTP/1.1 408 "), head
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            error = await asyncio.wait_for(reader.readexactly(length), 5)
            assert b"the whole body did not arrive within 1 s" in error
            break
        else:
            raise AssertionError("no 408")
    finally:
        writer.close()


async def test_large_requests_over_the_decoding_budget_queue_then_get_503(start: Start) -> None:
    # each body is ~10 KiB: decoded in a thread, and one fills the 12 KiB budget
    base = await start(
        max_inline_decode_bytes=KIB,
        max_decoding_bytes=12 * KIB,
        max_decoding_waiters=1,
        decoding_wait_timeout=0.5,
    )
    async with aiohttp.ClientSession() as http:
        slow = asyncio.create_task(http.post(base + PREDICT, data=instances(5000, first=2.0)))
        await asyncio.sleep(0.5)  # the slow one holds the budget, in its model
        queued = asyncio.create_task(http.post(base + PREDICT, data=instances(5000)))
        await asyncio.sleep(0.1)  # ...this one waits in the queue (its one place)
        refused = await http.post(base + PREDICT, data=instances(5000))
        assert refused.status == 503
        assert refused.headers["Retry-After"] == "1"
        assert "too many large requests waiting" in (await refused.json())["error"]
        timed_out = await queued
        assert timed_out.status == 503
        assert "waited 0.5 s" in (await timed_out.json())["error"]
        small = await http.post(base + PREDICT, data=instances(3))  # under the threshold
        assert await small.json() == {"predictions": [3]}
        assert (await (await slow).json()) == {"predictions": [5000]}
        after = await http.post(base + PREDICT, data=instances(5000))
        assert await after.json() == {"predictions": [5000]}


async def test_decoding_grants_in_order_and_returns_shares() -> None:
    decoding = Decoding(DecodingLimits(inline_max_bytes=0, max_bytes=10, max_waiters=5, max_wait=5))
    order: list[str] = []
    release = asyncio.Event()

    async def hold(name: str, size: int) -> None:
        async with decoding.slot(size):
            order.append(name)
            await release.wait()

    first = asyncio.create_task(hold("a", 8))
    await asyncio.sleep(0)
    waiting = [asyncio.create_task(hold("b", 5)), asyncio.create_task(hold("c", 1))]
    await asyncio.sleep(0.05)
    assert order == ["a"]  # c would fit, but does not overtake b
    cancelled = asyncio.create_task(hold("d", 3))
    await asyncio.sleep(0)
    cancelled.cancel()
    release.set()
    await asyncio.gather(first, *waiting)
    assert order == ["a", "b", "c"]
    assert decoding.in_use == 0
    huge = asyncio.create_task(hold("huge", 1000))  # larger than the budget: runs alone
    await huge
    assert decoding.in_use == 0


async def test_a_full_queue_is_refused_at_once() -> None:
    decoding = Decoding(DecodingLimits(inline_max_bytes=0, max_bytes=1, max_waiters=0, max_wait=5))
    async with decoding.slot(1):
        with pytest.raises(Overloaded):
            async with decoding.slot(1):
                raise AssertionError("unreachable")


ROWS_SERVER = textwrap.dedent(
    """
    import logging, sys
    from kserve_server import server
    from kserve_server.inference import PredictResponse
    from kserve_server.runtimes import inputs
    from kserve_server.runtimes.base import Model
    from kserve_server.settings import ServerSettings

    class Rows(Model):  # what a framework model does first: instances to an array
        def predict(self, request):
            return PredictResponse(predictions=[len(inputs.from_instances(request.instances))])

    logging.basicConfig(level="INFO")
    sys.exit(server.run(ServerSettings(host="127.0.0.1", http_port=0), models=[Rows("rows")]))
    """
)


async def test_health_answers_during_a_20_mb_request() -> None:
    # its own process, as the kubelet sees it: a blocked loop shows in the probe's latency
    proc, port, _ = start_process([], script=ROWS_SERVER)
    base = f"http://127.0.0.1:{port}"
    body = orjson.dumps({"instances": [[6.81, 2.82, 4.83, 1.44]] * 1_000_000})
    assert len(body) > 20_000_000
    latencies: list[float] = []
    try:
        await asyncio.to_thread(wait_ready, port)
        async with aiohttp.ClientSession() as http:
            began = time.perf_counter()
            big = asyncio.create_task(http.post(f"{base}/v1/models/rows:predict", data=body))
            while not big.done():
                started = time.perf_counter()
                assert (await http.get(f"{base}/v2/health/live")).status == 200
                latencies.append(time.perf_counter() - started)
                await asyncio.sleep(0.01)
            assert await (await big).json() == {"predictions": [1_000_000]}
            took = time.perf_counter() - began
    finally:
        proc.terminate()
        proc.wait(30)
    worst = max(latencies)
    # Relative, so a busy machine does not decide: the loop answered all along, never stalled
    # for most of the request (parsed whole on the loop, one stall was ~90% of it).
    assert len(latencies) >= 10 and worst < 0.5 * took, f"worst {worst:.2f} s of {took:.2f} s"
