"""The router's HTTP edge: POST on any path runs the graph (upstream serves its graph on `/`
and every path below it); GET /readyz answers 200 until shutdown starts.

Outgoing calls share one aiohttp ClientSession (made in cleanup_ctx, closed on exit). Incoming
headers whose canonical name (`X-Request-Id`) matches one of the PROPAGATE_HEADERS patterns
(regular expressions, matched anywhere in the name, as Go's MatchString does) go to every step.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass

import aiohttp
import orjson
from aiohttp import web

from kserve_server.router.engine import Engine, Reply, StepError
from kserve_server.router.graph import Graph

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class RouterState:
    graph: Graph
    propagate: Sequence[re.Pattern[str]] = ()
    session: aiohttp.ClientSession | None = None
    shutting_down: bool = False


STATE = web.AppKey("router", RouterState)


def server_timeouts(graph: Graph) -> dict[str, int]:
    """routerTimeouts for the server side, with upstream's defaults (seconds)."""
    t = graph.router_timeouts
    return {
        "read": t.server_read if t.server_read is not None else 60,
        "write": t.server_write if t.server_write is not None else 60,
        "idle": t.server_idle if t.server_idle is not None else 180,
    }


def canonical(name: str) -> str:
    """Go's canonical header form, which upstream's patterns are written against."""
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


def propagated(
    headers: Iterable[tuple[str, str]], patterns: Sequence[re.Pattern[str]]
) -> list[tuple[str, str]]:
    return [(k, v) for k, v in headers if any(p.search(canonical(k)) for p in patterns)]


def error_body(message: str, *, cause: str = "") -> bytes:
    # upstream's shape: {"error": ..., "cause": ...}
    return orjson.dumps({"error": message, "cause": cause or message})


@web.middleware
async def errors_as_json(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except StepError as err:
        level = logging.ERROR if err.status >= 500 else logging.WARNING
        log.log(level, "graph request %s %s failed: %s", request.method, request.path, err)
        return web.Response(
            body=error_body("Failed to process request", cause=str(err)),
            status=err.status,
            content_type="application/json",
        )


async def readyz(request: web.Request) -> web.Response:
    if request.app[STATE].shutting_down:
        return web.Response(status=503, text="shutting down")
    return web.Response(text="ok")


async def run_graph(request: web.Request) -> web.Response:
    state = request.app[STATE]
    read_timeout = server_timeouts(state.graph)["read"]
    try:
        body = await asyncio.wait_for(request.read(), read_timeout)
    except TimeoutError:
        raise StepError(f"reading the request took over {read_timeout}s", status=408) from None
    headers = propagated(request.headers.items(), state.propagate)
    engine = Engine(state.graph, call=_caller(state, headers))
    write_timeout = server_timeouts(state.graph)["write"]
    try:
        reply = await asyncio.wait_for(engine.run(body), write_timeout)
    except TimeoutError:
        raise StepError(
            f"the graph did not answer within {write_timeout}s (routerTimeouts.serverWrite)",
            status=504,
        ) from None
    try:
        orjson.loads(reply.body)
        content_type = "application/json"
    except orjson.JSONDecodeError:
        content_type = "application/octet-stream"
    return web.Response(body=reply.body, status=reply.status, content_type=content_type)


def _caller(
    state: RouterState, headers: list[tuple[str, str]]
) -> Callable[[str, bytes], Awaitable[Reply]]:
    seconds = state.graph.router_timeouts.service_client
    sent = {name.lower() for name, _ in headers}
    outgoing = list(headers)
    if "content-type" not in sent:
        outgoing.append(("Content-Type", "application/json"))

    async def call(url: str, body: bytes) -> Reply:
        assert state.session is not None
        try:
            async with state.session.post(url, data=body, headers=outgoing) as resp:
                return Reply(resp.status, await resp.read())
        except TimeoutError:
            raise StepError(f"{url} did not answer within {seconds}s", status=504) from None
        except aiohttp.ClientError as err:
            raise StepError(f"cannot reach {url}: {err}", status=502) from err

    return call


def create_app(state: RouterState) -> web.Application:
    app = web.Application(middlewares=[errors_as_json], client_max_size=64 * 1024 * 1024)
    app[STATE] = state
    app.add_routes(
        [
            web.get("/readyz", readyz),
            web.post("/{tail:.*}", run_graph),
        ]
    )
    app.cleanup_ctx.append(_session)
    return app


async def _session(app: web.Application) -> AsyncIterator[None]:
    state = app[STATE]
    # routerTimeouts.serviceClient bounds each call; unset: no limit, as upstream
    state.session = aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=state.graph.router_timeouts.service_client),
        connector=aiohttp.TCPConnector(limit=0),
    )
    yield
    await state.session.close()
