"""An activator on real loopback sockets (proxy and admin apps served by pytest-aiohttp),
with its route table filled directly, and model servers that can start late."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from kserve_server.activator import app as activator_app
from kserve_server.activator.load import Load
from kserve_server.activator.proxy import Activator, Settings
from kserve_server.activator.routes import Route, Table

HOST = "sleepy-team-a.example.com"
KEY = ("team-a", "sleepy-predictor")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Model:
    """A stand-in model server on `port`, started when the test says (a cold start)."""

    port: int
    seen: list[dict[str, Any]] = field(default_factory=list)
    runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.seen.append(
            {
                "method": request.method,
                "path_qs": request.path_qs,
                "body": body,
                "headers": request.headers.copy(),  # case-insensitive
            }
        )
        if request.path.endswith("/stream"):
            response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await response.prepare(request)
            for i in range(3):
                await response.write(f"data: {i}\n\n".encode())
            await response.write_eof()
            return response
        return web.json_response({"predictions": [1]}, headers={"X-Model": "sleepy"})

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


@dataclass
class Running:
    activator: Activator
    proxy: TestClient[web.Request, web.Application]
    admin: TestClient[web.Request, web.Application]
    model: Model


MakeActivator = Callable[..., Awaitable[Running]]


@pytest.fixture
async def make_activator(aiohttp_client: Any) -> AsyncIterator[MakeActivator]:
    models: list[Model] = []

    async def make(*, synced: bool = True, **settings: Any) -> Running:
        model = Model(port=free_port())
        models.append(model)
        table = Table()
        route = Route(namespace=KEY[0], service=KEY[1], upstream=f"http://127.0.0.1:{model.port}")
        table.add(("team-a", "sleepy-predictor-activator"), route, [HOST])
        activator = Activator(table=table, load=Load(), settings=Settings(**settings))
        if synced:
            activator.synced.set()
        proxy = await aiohttp_client(activator_app.create_proxy_app(activator))
        admin = await aiohttp_client(activator_app.create_admin_app(activator, draining=[False]))
        return Running(activator, proxy, admin, model)

    yield make
    for model in models:
        await model.stop()
