"""The route table follows the API server's Services: list, watch, 410 Gone -> list again.
The API server here is an aiohttp app on a loopback socket that answers as kube-apiserver does
(the real one: tests/integration/controller/test_controller_activator.py)."""

from __future__ import annotations

import asyncio
import json
import ssl
from pathlib import Path
from typing import Any

import aiohttp
import trustme
from aiohttp import web

from kserve_server.activator import kube, routes
from kserve_server.activator.routes import Table


def service(name: str, host: str, version: str) -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "namespace": "team-a",
            "resourceVersion": version,
            "labels": {routes.LABEL: "true"},
            "annotations": {routes.TARGET_ANNOTATION: name[: -len("-activator")],
                            routes.HOSTS_ANNOTATION: host},
        }
    }  # fmt: skip


class FakeApiServer:
    """Lists {a}; the first watch brings b (ADDED), a (DELETED), then 410 Gone; the relist
    has {b, c}; the second watch stays open."""

    def __init__(self) -> None:
        self.lists = 0
        self.watches = 0
        self.tokens: list[str] = []
        self.selectors: list[str] = []

    async def services(self, request: web.Request) -> web.StreamResponse:
        self.tokens.append(request.headers.get("Authorization", ""))
        self.selectors.append(request.query.get("labelSelector", ""))
        if request.query.get("watch") != "1":
            self.lists += 1
            items = [service("a-activator", "a.example.com", "5")]
            if self.lists > 1:
                items = [service("b-activator", "b.example.com", "9"),
                         service("c-activator", "c.example.com", "10")]  # fmt: skip
            return web.json_response({"items": items, "metadata": {"resourceVersion": "10"}})
        self.watches += 1
        response = web.StreamResponse()
        await response.prepare(request)
        if self.watches == 1:
            for kind, obj in [
                ("ADDED", service("b-activator", "b.example.com", "6")),
                ("DELETED", service("a-activator", "a.example.com", "7")),
                ("ERROR", {"kind": "Status", "code": 410, "message": "too old"}),
            ]:
                await response.write(json.dumps({"type": kind, "object": obj}).encode() + b"\n")
            return response
        await asyncio.sleep(30)
        return response


async def test_list_then_watch_then_relist_after_gone(aiohttp_server: Any, tmp_path: Path) -> None:
    fake = FakeApiServer()
    app = web.Application()
    app.router.add_get(kube.SERVICES, fake.services)
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    server_ssl = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_ssl)
    server = await aiohttp_server(app, ssl=server_ssl)
    ca_file = tmp_path / "ca.crt"
    ca.cert_pem.write_to_path(str(ca_file))
    token = tmp_path / "token"
    token.write_text("first\n")
    access = kube.Access(url=f"https://127.0.0.1:{server.port}", token_file=token, ca_file=ca_file)
    table, synced = Table(), asyncio.Event()
    async with aiohttp.ClientSession() as session:
        task = asyncio.create_task(kube.follow(kube.Services(access, session), table, synced))
        try:
            await asyncio.wait_for(synced.wait(), 5)
            token.write_text("rotated\n")  # projected tokens rotate: read on every request
            for _ in range(100):
                if fake.lists == 2 and table.lookup("c.example.com") is not None:
                    break
                await asyncio.sleep(0.02)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    assert table.lookup("a.example.com") is None
    b = table.lookup("b.example.com")
    assert b is not None and b.service == "b"
    assert table.lookup("c.example.com") is not None
    assert fake.lists == 2 and fake.watches == 2
    assert fake.tokens[0] == "Bearer first" and fake.tokens[-1] == "Bearer rotated"
    assert set(fake.selectors) == {routes.SELECTOR}
