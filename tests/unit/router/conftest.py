"""Fixtures: model servers as real aiohttp apps on loopback, and a router app in front of them
(served on a real socket by pytest-aiohttp)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from kserve_server.router import app as router_app
from kserve_server.router.graph import parse


@dataclass
class Model:
    """A stand-in model server: records what it got, answers with `answer(request JSON)`."""

    answer: Callable[[Any], Any]
    status: int = 200
    seen: list[Any] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    hang: asyncio.Event | None = None

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.seen.append(body)
        self.headers.append(dict(request.headers))
        if self.hang is not None:
            await self.hang.wait()
        return web.json_response(self.answer(body), status=self.status)


ServeModel = Callable[..., Awaitable[tuple[Model, str]]]
MakeRouter = Callable[..., Awaitable[TestClient[web.Request, web.Application]]]


@pytest.fixture
async def model(aiohttp_server: Any) -> ServeModel:
    """`model(answer, status=200)` → (Model, its predict URL on loopback)."""

    async def start(answer: Callable[[Any], Any], **kwargs: Any) -> tuple[Model, str]:
        m = Model(answer=answer, **kwargs)
        app = web.Application()
        app.add_routes([web.post("/v1/models/{name}:predict", m.handle)])
        server: TestServer = await aiohttp_server(app)
        return m, str(server.make_url("/v1/models/m:predict"))

    return start


@pytest.fixture
async def router(aiohttp_client: Any) -> MakeRouter:
    """`router(spec dict, propagate=[...])` → a client of the router serving that graph."""

    async def start(spec: dict[str, Any], *, propagate: Sequence[str] = ()) -> Any:
        state = router_app.RouterState(
            graph=parse(json.dumps(spec)), propagate=[re.compile(p) for p in propagate]
        )
        return await aiohttp_client(router_app.create_app(state))

    return start
