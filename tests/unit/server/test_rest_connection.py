"""Client errors from the HTTP parser up, over raw sockets to the real server: each is a 4xx
`{"error": ...}` and costs the log at most one WARNING line, never an ERROR or a traceback."""

from __future__ import annotations

import asyncio
import gzip
import logging
import zlib
from collections.abc import AsyncIterator

import orjson
import pytest

from kserve_server import server
from kserve_server.inference import PredictRequest, PredictResponse, Request, Response
from kserve_server.rest.connection import ClientErrorLog
from kserve_server.runtimes.base import Model
from kserve_server.settings import ServerSettings

from .conftest import exchange

BODY = b'{"instances": [1, 2]}'
PREDICT = "/v1/models/echo:predict"


class Echo(Model):
    def predict(self, request: Request) -> Response:
        assert isinstance(request, PredictRequest)
        return PredictResponse(predictions=request.instances)


def post(body: bytes, *headers: str, path: str = PREDICT) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: x", f"Content-Length: {len(body)}", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@pytest.fixture
async def port() -> AsyncIterator[int]:
    settings = ServerSettings(host="127.0.0.1", http_port=0, grace_period=5)
    running = await server.start(settings, models=[Echo("echo")])
    await asyncio.wait_for(asyncio.shield(running.repository.loading), 30)  # type: ignore[arg-type]
    yield running.port
    running.stop()
    await running.wait()


HEADER_FLOOD = "".join(f"X-H{i}: v\r\n" for i in range(200))
PARSER_ERRORS = {
    "too many headers": f"GET /v2/health/live HTTP/1.1\r\nHost: x\r\n{HEADER_FLOOD}\r\n".encode(),
    "URL over 8 KiB": f"GET /v2/{'a' * 9000} HTTP/1.1\r\nHost: x\r\n\r\n".encode(),
    "bad method": b"G@T /v2/health/live HTTP/1.1\r\nHost: x\r\n\r\n",
    "bad Content-Length": b"POST " + PREDICT.encode() + b" HTTP/1.1\r\nContent-Length: ab\r\n\r\n",
    "bad chunking": (
        b"POST " + PREDICT.encode() + b" HTTP/1.1\r\nHost: x\r\n"
        b"Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"
    ),
    "unknown Content-Encoding": post(BODY, "Content-Encoding: zstd"),
}


@pytest.mark.parametrize("case", sorted(PARSER_ERRORS))
async def test_parser_errors_are_json_4xx(port: int, case: str) -> None:
    answer = await exchange(port, PARSER_ERRORS[case])
    assert 400 <= answer.status < 500
    assert answer.error()
    # the server answers on
    ok = await exchange(port, post(BODY, "Connection: close"))
    assert (ok.status, orjson.loads(ok.body)) == (200, {"predictions": [1, 2]})


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br"])
async def test_a_body_that_lies_about_its_encoding_is_400(port: int, encoding: str) -> None:
    answer = await exchange(port, post(BODY, f"Content-Encoding: {encoding}"))
    assert answer.status == 400
    assert encoding in answer.error() or "brotli" in answer.error()


@pytest.mark.parametrize(
    ("encoding", "pack"),
    [("gzip", gzip.compress), ("deflate", zlib.compress)],
)
async def test_a_body_in_its_declared_encoding_is_served(
    port: int, encoding: str, pack: object
) -> None:
    packed = pack(BODY)  # type: ignore[operator]
    raw = post(packed, f"Content-Encoding: {encoding}", "Connection: close")
    answer = await exchange(port, raw)
    assert (answer.status, orjson.loads(answer.body)) == (200, {"predictions": [1, 2]})


async def test_a_flood_of_client_errors_costs_one_warning_line(
    port: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for raw in [*PARSER_ERRORS.values(), post(BODY, "Content-Encoding: gzip")] * 3:
        assert (await exchange(port, raw)).status in range(400, 500)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "\n" not in warnings[0].getMessage() and warnings[0].exc_info is None
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_client_error_log_counts_what_it_left_out(caplog: pytest.LogCaptureFixture) -> None:
    now = [100.0]
    logger = logging.getLogger("test.client_errors")
    errors = ClientErrorLog(logger, interval=10, clock=lambda: now[0])
    with caplog.at_level(logging.INFO, logger="test.client_errors"):
        for _ in range(5):
            errors.warning("bad request from %s", "peer")
        now[0] += 10
        errors.warning("bad request from %s", "peer")
        errors.info("passes through")
    assert [r.getMessage() for r in caplog.records] == [
        "bad request from peer",
        "bad request from peer (4 more client errors since the last line)",
        "passes through",
    ]
