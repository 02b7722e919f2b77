"""`kserve-router --graph-json '<InferenceGraph spec as JSON>'`: upstream's router flag.

Env: PROPAGATE_HEADERS (comma-separated regular expressions of header names to pass to every
step). Serves on :8080 (`--port`, ours). On SIGTERM /readyz turns 503, requests in flight
finish during `--drain-seconds`, then the server stops.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import signal
import sys

from aiohttp import web

from kserve_server.router import app as router_app
from kserve_server.router.graph import GraphError, parse

log = logging.getLogger("kserve_server.router")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kserve-router", description="Run an InferenceGraph.")
    p.add_argument("--graph-json", required=True, help="the InferenceGraph's spec as JSON")
    p.add_argument("--host", default="0.0.0.0")
    p.add_argument("--port", default=8080, type=int, help="0: any free port")
    p.add_argument("--drain-seconds", default=10.0, type=float, help="SIGTERM: readyz 503 first")
    return p


def patterns(value: str | None) -> list[re.Pattern[str]]:
    """PROPAGATE_HEADERS → compiled patterns; a bad one is an error naming it."""
    out = []
    for raw in (value or "").split(","):
        if not raw.strip():
            continue
        try:
            out.append(re.compile(raw.strip()))
        except re.error as err:
            raise GraphError(f"PROPAGATE_HEADERS: pattern {raw!r} is invalid: {err}") from err
    return out


async def serve(state: router_app.RouterState, *, host: str, port: int, drain: float) -> None:
    timeouts = router_app.server_timeouts(state.graph)
    app = router_app.create_app(state)
    runner = web.AppRunner(app, access_log=None, keepalive_timeout=timeouts["idle"])
    await runner.setup()
    site = web.TCPSite(runner, host, port, shutdown_timeout=float(timeouts["write"]))
    await site.start()
    sockets = runner.addresses
    log.info("Router listening on %s with nodes %s", sockets, ", ".join(state.graph.nodes))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    state.shutting_down = True
    log.info("Shutting down: readyz answers 503 for %ss, then the server stops", drain)
    await asyncio.sleep(drain)
    await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("KSERVE_LOGLEVEL", "INFO").upper(),
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    try:
        graph = parse(args.graph_json)
        propagate = patterns(os.environ.get("PROPAGATE_HEADERS"))
    except GraphError as err:
        print(f"kserve-router: {err}", file=sys.stderr)
        return 2
    state = router_app.RouterState(graph=graph, propagate=propagate)
    asyncio.run(serve(state, host=args.host, port=args.port, drain=args.drain_seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
