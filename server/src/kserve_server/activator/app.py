"""The activator's two servers: the proxy (every path, every method) and the admin port
(health, readiness, the load KEDA reads)."""

from __future__ import annotations

from aiohttp import web

from kserve_server.activator.proxy import Activator

ACTIVATOR = web.AppKey("activator", Activator)
DRAINING = web.AppKey("draining", list)


def create_proxy_app(activator: Activator) -> web.Application:
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app[ACTIVATOR] = activator
    app.router.add_route("*", "/{tail:.*}", activator.handle)
    app.cleanup_ctx.append(activator.lifespan)
    return app


def create_admin_app(activator: Activator, *, draining: list[bool]) -> web.Application:
    """`draining`: one flag, set on SIGTERM (readyz 503 while held requests finish)."""
    app = web.Application()
    app[ACTIVATOR] = activator
    app[DRAINING] = draining
    app.add_routes(
        [
            web.get("/healthz", healthz),
            web.get("/readyz", readyz),
            web.get("/load/{namespace}/{service}", load),
        ]
    )
    return app


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "alive"})


async def readyz(request: web.Request) -> web.Response:
    activator = request.app[ACTIVATOR]
    if request.app[DRAINING][0]:
        return web.json_response({"status": "draining"}, status=503)
    if not activator.synced.is_set():
        return web.json_response({"status": "routes not listed yet"}, status=503)
    return web.json_response({"status": "ready", "components": len(activator.table)})


async def load(request: web.Request) -> web.Response:
    """KEDA's metrics-api trigger reads `concurrency`; unknown components are 0, not 404 (a
    404 would make KEDA report the trigger as failing)."""
    activator = request.app[ACTIVATOR]
    key = (request.match_info["namespace"], request.match_info["service"])
    counts = activator.load.counts(key)
    return web.json_response(
        {
            "concurrency": activator.load.concurrency(key),
            "held": counts.held,
            "inFlight": counts.in_flight,
        }
    )
