"""The agent answers its `K-Network-Probe` readiness probe with the component's own probe."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest
from aiohttp import web

from kserve_server.agent import readiness
from kserve_server.agent.app import create_app
from kserve_server.agent.proxy import Proxy

PROBE = {"K-Network-Probe": "queue", "User-Agent": "kube-probe/1.34"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_parse_reads_what_the_controller_writes() -> None:
    tcp = readiness.parse(
        json.dumps({"tcpSocket": {"port": 9000}, "timeoutSeconds": 2}), component_port=8080
    )
    assert tcp == readiness.ComponentProbe(kind="tcp", port=9000, timeout=2.0)
    http = readiness.parse(
        json.dumps({"httpGet": {"path": "/healthz", "port": "http", "scheme": "HTTP"}}),
        component_port=8080,
    )
    assert http == readiness.ComponentProbe(kind="http", port=8080, path="/healthz")
    assert readiness.parse("", component_port=8080) is None


@pytest.mark.parametrize(
    ("text", "words"),
    [("{not json", "not JSON"), ('{"exec": {"command": ["true"]}}', "httpGet and tcpSocket")],
)
def test_parse_refuses_what_it_cannot_run(text: str, words: str) -> None:
    with pytest.raises(readiness.ProbeError, match=words):
        readiness.parse(text, component_port=8080)


async def _component(aiohttp_server: Any, status: int) -> Any:
    seen: list[str] = []

    async def health(request: web.Request) -> web.Response:
        seen.append(request.path)
        return web.Response(status=status)

    app = web.Application()
    app.router.add_get("/healthz", health)
    server = await aiohttp_server(app)
    server.seen = seen
    return server


async def test_a_listening_component_without_a_root_route_is_ready(
    aiohttp_client: Any, aiohttp_server: Any
) -> None:
    component = await _component(aiohttp_server, 200)  # "/" answers 404 here
    probe = readiness.ComponentProbe(kind="tcp", port=component.port)
    proxy = Proxy(component_port=component.port, logger=None, batcher=None)
    client = await aiohttp_client(create_app(proxy, probe=probe))
    resp = await client.get("/", headers=PROBE)
    assert (resp.status, await resp.text()) == (200, "queue")


async def test_http_probe_follows_the_component_and_is_not_forwarded(
    aiohttp_client: Any, aiohttp_server: Any
) -> None:
    for status, expected in ((200, 200), (500, 503)):
        component = await _component(aiohttp_server, status)
        probe = readiness.ComponentProbe(kind="http", port=component.port, path="/healthz")
        proxy = Proxy(component_port=component.port, logger=None, batcher=None)
        client = await aiohttp_client(create_app(proxy, probe=probe))
        resp = await client.get("/healthz", headers=PROBE)
        assert resp.status == expected
        assert component.seen == ["/healthz"]  # the probe's own request, nothing forwarded


async def test_nothing_listening_is_not_ready_and_plain_requests_are_still_forwarded(
    aiohttp_client: Any, aiohttp_server: Any
) -> None:
    probe = readiness.ComponentProbe(kind="tcp", port=free_port())
    component = await _component(aiohttp_server, 200)
    proxy = Proxy(component_port=component.port, logger=None, batcher=None)
    client = await aiohttp_client(create_app(proxy, probe=probe))
    assert (await client.get("/", headers=PROBE)).status == 503
    assert (await client.get("/healthz")).status == 200
    assert component.seen == ["/healthz"]
