"""Real parts for the payload logger and batcher tests: a CloudEvents receiver (the SDK parses
every post), model servers and agents in their own processes, started by their commands."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.bindings import http as ce_http

IRIS_ROW = [6.8, 2.8, 4.8, 1.4]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Receiver:
    """A CloudEvents sink on loopback: answers `status` after `delay` seconds."""

    delay: float = 0.0
    status: int = 200
    events: list[BaseCloudEvent] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    url: str = ""
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            message = ce_http.HTTPMessage(headers=dict(request.headers), body=body)
            self.events.append(ce_http.from_http_event(message))
        except Exception as exc:  # a malformed event is a test failure, reported by the test
            self.errors.append(f"{type(exc).__name__}: {exc}")
        self._arrived.set()
        if self.delay:
            await asyncio.sleep(self.delay)
        return web.Response(status=self.status)

    async def wait_for(self, count: int, *, within: float) -> None:
        await self.wait_until(lambda: len(self.events) + len(self.errors) >= count, within=within)

    async def wait_until(self, done: Callable[[], bool], *, within: float) -> None:
        deadline = time.monotonic() + within
        while not done():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), min(remaining, 0.5))


@contextlib.asynccontextmanager
async def receiving(receiver: Receiver) -> AsyncIterator[Receiver]:
    app = web.Application()
    app.router.add_post("/{tail:.*}", receiver.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    receiver.url = f"http://127.0.0.1:{port}/"
    try:
        yield receiver
    finally:
        await runner.cleanup()


@dataclass
class Process:
    """A command of ours in its own process; stderr kept for the test to read."""

    args: list[str]
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                self.args, stdout=out, stderr=subprocess.STDOUT, env=env
            )

    async def wait_ready(self, path: str, *, within: float = 60.0) -> None:
        deadline = time.monotonic() + within
        async with aiohttp.ClientSession() as client:
            while time.monotonic() < deadline:
                assert self.process is not None and self.process.poll() is None, self.output()
                try:
                    async with client.get(self.url + path) as r:
                        if r.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError(f"{self.args[2:4]} not ready in {within}s:\n{self.output()}")

    def terminate(self, *, timeout: float = 30.0) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"did not stop within {timeout}s:\n{self.output()}") from None

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def model_server(model_dir: Path, log: Path, *extra: str) -> Process:
    port = free_port()
    args = [
        sys.executable,
        "-m",
        "kserve_server",
        "--model_name=sklearn-iris",
        f"--model_dir={model_dir}",
        f"--http_port={port}",
        "--enable_grpc=false",
        "--host=127.0.0.1",
        *extra,
    ]
    return Process(args=args, port=port, log=log)


def agent(component_port: int, log: Path, *extra: str) -> Process:
    port = free_port()
    args = [
        sys.executable,
        "-m",
        "kserve_server.agent",
        "--port",
        str(port),
        "--component-port",
        str(component_port),
        *extra,
    ]
    return Process(args=args, port=port, log=log)


async def predict(
    client: aiohttp.ClientSession, url: str, rows: Sequence[Any], **kw: Any
) -> tuple[int, Any]:
    async with client.post(
        f"{url}/v1/models/sklearn-iris:predict", json={"instances": rows}, **kw
    ) as r:
        return r.status, await r.json(content_type=None)


async def get_text(url: str, **kw: Any) -> tuple[int, str]:
    async with aiohttp.ClientSession() as client, client.get(url, **kw) as r:
        return r.status, await r.text()
