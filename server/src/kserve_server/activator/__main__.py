"""`kserve-activator`: hold requests to components scaled to zero, forward them once started.

Serves the proxy on `--port` (8080) and health, readiness and `/load/<ns>/<service>` on
`--admin-port` (9091). Routes come from the API server (the pod's service account). On
SIGTERM readyz turns 503 and the server stops after `--drain-seconds`, with requests it still
holds answered or timed out by then.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys

import aiohttp
from aiohttp import web

from kserve_server.activator import app as activator_app
from kserve_server.activator import kube
from kserve_server.activator.load import Load
from kserve_server.activator.proxy import Activator, Settings
from kserve_server.activator.routes import Table

log = logging.getLogger("kserve_server.activator")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kserve-activator", description=__doc__)
    p.add_argument("--host", default="0.0.0.0")
    p.add_argument("--port", default=8080, type=int)
    p.add_argument("--admin-port", default=9091, type=int)
    p.add_argument("--hold-timeout", default=60.0, type=float, help="seconds a request is held")
    p.add_argument("--load-window", default=10.0, type=float, help="seconds of peak concurrency")
    p.add_argument("--cluster-domain", default="cluster.local")
    p.add_argument("--drain-seconds", default=10.0, type=float)
    return p


async def serve(args: argparse.Namespace, access: kube.Access) -> None:
    activator = Activator(
        table=Table(cluster_domain=args.cluster_domain),
        load=Load(window=args.load_window),
        settings=Settings(hold_timeout=args.hold_timeout),
    )
    draining = [False]
    proxy = web.AppRunner(activator_app.create_proxy_app(activator), access_log=None)
    admin = web.AppRunner(activator_app.create_admin_app(activator, draining=draining))
    await proxy.setup()
    await admin.setup()
    shutdown = args.hold_timeout + 5.0
    await web.TCPSite(proxy, args.host, args.port, shutdown_timeout=shutdown).start()
    await web.TCPSite(admin, args.host, args.admin_port).start()
    log.info("Activator listening on %s, admin on %s", proxy.addresses, admin.addresses)
    async with aiohttp.ClientSession() as session:
        follower = asyncio.create_task(
            kube.follow(kube.Services(access, session), activator.table, activator.synced)
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        draining[0] = True
        log.info("Shutting down: readyz 503 for %ss, then held requests finish", args.drain_seconds)
        await asyncio.sleep(args.drain_seconds)
        await proxy.cleanup()
        follower.cancel()
        await asyncio.gather(follower, return_exceptions=True)
    await admin.cleanup()


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=os.environ.get("KSERVE_LOGLEVEL", "INFO").upper(),
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    try:
        access = kube.Access.in_cluster()
    except KeyError:
        print("kserve-activator: not in a pod (KUBERNETES_SERVICE_HOST unset)", file=sys.stderr)
        return 2
    asyncio.run(serve(args, access))
    return 0


if __name__ == "__main__":
    sys.exit(main())
