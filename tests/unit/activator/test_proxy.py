"""The activator over HTTP: held while the component starts, forwarded once it accepts,
a 503 past the hold timeout; KEDA's load figure along the way."""

from __future__ import annotations

import asyncio
import socket
import time

from .conftest import HOST, MakeActivator


async def test_a_running_component_gets_the_request_as_sent(
    make_activator: MakeActivator,
) -> None:
    run = await make_activator()
    await run.model.start()
    resp = await run.proxy.post(
        "/v1/models/sleepy:predict?verbose=1",
        data=b'{"instances": [[1, 2, 3, 4]]}',
        headers={"Host": HOST, "Content-Type": "application/json", "X-Request-Id": "r1"},
    )
    assert resp.status == 200
    assert await resp.json() == {"predictions": [1]}
    assert resp.headers["X-Model"] == "sleepy"
    [seen] = run.model.seen
    assert seen["method"] == "POST"
    assert seen["path_qs"] == "/v1/models/sleepy:predict?verbose=1"
    assert seen["body"] == b'{"instances": [[1, 2, 3, 4]]}'
    assert seen["headers"]["X-Request-Id"] == "r1"
    assert seen["headers"]["X-Forwarded-Host"] == HOST
    load = await (await run.admin.get("/load/team-a/sleepy-predictor")).json()
    assert load == {"concurrency": 1, "held": 0, "inFlight": 0}  # the window remembers it


async def test_a_streamed_answer_arrives_whole(make_activator: MakeActivator) -> None:
    run = await make_activator()
    await run.model.start()
    resp = await run.proxy.get("/v1/stream", headers={"Host": HOST})
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "text/event-stream"
    assert await resp.text() == "data: 0\n\ndata: 1\n\ndata: 2\n\n"


async def test_requests_are_held_until_the_component_starts_then_all_answered(
    make_activator: MakeActivator,
) -> None:
    run = await make_activator(hold_timeout=20.0, probe_interval=0.05)
    sends = [
        asyncio.create_task(
            run.proxy.post("/v1/models/sleepy:predict", json={"n": i}, headers={"Host": HOST})
        )
        for i in range(20)
    ]
    await asyncio.sleep(0.5)  # nothing listens: all 20 are held, none refused
    assert not any(s.done() for s in sends)
    load = await (await run.admin.get("/load/team-a/sleepy-predictor")).json()
    assert load == {"concurrency": 20, "held": 20, "inFlight": 0}
    started = time.monotonic()
    await run.model.start()
    answers = await asyncio.gather(*sends)
    assert [r.status for r in answers] == [200] * 20
    assert time.monotonic() - started < 2.0
    assert sorted(s["body"] for s in run.model.seen) == sorted(
        f'{{"n": {i}}}'.encode() for i in range(20)
    )
    load = await (await run.admin.get("/load/team-a/sleepy-predictor")).json()
    assert (load["held"], load["inFlight"]) == (0, 0)


async def test_past_the_hold_timeout_a_503_says_which_component_and_how_long(
    make_activator: MakeActivator,
) -> None:
    run = await make_activator(hold_timeout=0.6, probe_interval=0.05)
    started = time.monotonic()
    resp = await run.proxy.post("/v1/models/sleepy:predict", json={}, headers={"Host": HOST})
    waited = time.monotonic() - started
    assert resp.status == 503
    message = (await resp.json())["error"]
    assert "sleepy-predictor in namespace team-a did not become ready within 0.6s" in message
    assert 0.5 < waited < 2.0
    load = await (await run.admin.get("/load/team-a/sleepy-predictor")).json()
    assert (load["held"], load["inFlight"]) == (0, 0)
    assert run.model.seen == []


async def test_an_unknown_host_is_a_404_naming_it(make_activator: MakeActivator) -> None:
    run = await make_activator()
    resp = await run.proxy.get("/v1/models/x", headers={"Host": "nobody.example.com"})
    assert resp.status == 404
    assert "'nobody.example.com'" in (await resp.json())["error"]


async def test_before_the_routes_are_listed_requests_wait_and_readyz_is_503(
    make_activator: MakeActivator,
) -> None:
    run = await make_activator(synced=False)
    await run.model.start()
    assert (await run.admin.get("/readyz")).status == 503
    send = asyncio.create_task(run.proxy.get("/v1/models/sleepy", headers={"Host": HOST}))
    await asyncio.sleep(0.2)
    assert not send.done()
    run.activator.synced.set()
    assert (await send).status == 200
    ready = await run.admin.get("/readyz")
    assert ready.status == 200
    assert (await ready.json())["components"] == 1


async def test_a_component_gone_mid_answer_is_a_502_not_a_retry(
    make_activator: MakeActivator,
) -> None:
    run = await make_activator(hold_timeout=5.0)
    await run.model.start()
    # a server that accepts, reads and closes without answering: the request was sent
    server = await asyncio.start_server(_close_after_read, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    route = run.activator.table.lookup(HOST)
    assert route is not None
    run.activator.table.add(
        ("team-a", "x"), type(route)("team-a", "broken", f"http://127.0.0.1:{port}"), ["b.test"]
    )
    async with server:
        resp = await run.proxy.post("/v1/models/b:predict", json={}, headers={"Host": "b.test"})
    assert resp.status == 502
    assert "broken in namespace team-a" in (await resp.json())["error"]


async def _close_after_read(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.close()


async def test_a_connection_never_answered_is_held_like_a_refused_one(
    make_activator: MakeActivator,
) -> None:
    """A listener whose accept queue is full drops SYNs (what the cluster did in the second a
    component's endpoint appeared): the connect times out, nothing was sent, so it is held and
    sent again once the component answers."""
    run = await make_activator(hold_timeout=20.0, connect_timeout=0.3, probe_timeout=0.2)
    full = socket.socket()
    full.bind(("127.0.0.1", run.model.port))
    full.listen(0)
    fillers = [socket.create_connection(("127.0.0.1", run.model.port), timeout=2)]  # queue full
    send = asyncio.create_task(
        run.proxy.post("/v1/models/sleepy:predict", json={}, headers={"Host": HOST})
    )
    await asyncio.sleep(1.0)  # several timed-out attempts: still held
    assert not send.done()
    load = await (await run.admin.get("/load/team-a/sleepy-predictor")).json()
    assert load["held"] == 1
    for s in [*fillers, full]:
        s.close()
    await run.model.start()
    resp = await send
    assert resp.status == 200
    assert len(run.model.seen) == 1
