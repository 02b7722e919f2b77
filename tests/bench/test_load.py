"""The wrk Lua script counts what users would call failures, against a real server on loopback."""

import asyncio
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web

from bench import load

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def flaky_server() -> Iterator[str]:
    """Answers 200 to every other POST and 503 to the rest."""
    count = 0

    async def handler(request: web.Request) -> web.Response:
        nonlocal count
        count += 1
        await request.read()
        return web.json_response({"n": count}, status=200 if count % 2 else 503)

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    loop = asyncio.new_event_loop()
    app = web.Application()
    app.router.add_post("/x", handler)
    runner = web.AppRunner(app, access_log=None)
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.SockSite(runner, sock).start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}/x"
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def test_wrk_reports_non_2xx_answers_as_errors(flaky_server: str, tmp_path: Path) -> None:
    assert shutil.which("wrk"), "wrk is missing: make bench installs it (apt-get install wrk)"
    body = tmp_path / "body.json"
    body.write_bytes(b'{"instances": [[1, 2, 3, 4]]}')
    stats = load.wrk(
        url=flaky_server,
        body_file=body,
        connections=2,
        seconds=1,
        core=0,
        script=REPO / "bench" / "post.lua",
    )
    assert stats["requests"] > 10
    # half the answers were 503: counted, whether wrk stopped on an odd or even request
    assert abs(stats["non2xx"] - stats["requests"] / 2) <= 2
    assert stats["errors"] >= stats["non2xx"]
    assert 0 < stats["p50_us"] <= stats["p99_us"] <= stats["max_us"]


def test_a_paced_load_waits_between_requests_outside_the_latency(
    flaky_server: str, tmp_path: Path
) -> None:
    body = tmp_path / "body.json"
    body.write_bytes(b'{"instances": [[1, 2, 3, 4]]}')
    stats = load.wrk(
        url=flaky_server,
        body_file=body,
        connections=2,
        seconds=1,
        core=0,
        script=REPO / "bench" / "post.lua",
        delay_ms=50,
    )
    # 2 connections x one request per 50 ms (plus its time): at most 40 a second
    assert 20 <= stats["rps"] <= 40
    assert stats["p50_us"] < 50_000  # the pause is not counted as latency


def test_answers_are_checked_before_load() -> None:
    path, _, expected = load.bodies()["v2-batch"]
    assert path == "/v2/models/iris/infer" and len(expected) == 64
    good = b'{"outputs": [{"name": "output-0", "data": [' + b",".join([b"1"] * 64) + b"]}]}"
    assert load.check_answer("v2-batch", 200, good, expected) is None
    assert "HTTP 500" in (load.check_answer("v2-batch", 500, b"{}", expected) or "")
    wrong = b'{"predictions": [2]}'
    assert "differ" in (load.check_answer("v1-row", 200, wrong, [1]) or "")
