"""`python -m kserve_server.agent`: upstream agent's command line → the proxy on --port.

Flags as upstream's cmd/agent (`--port 9081`, `--component-port 8080`, `--workers 5` log
senders, the logger and batcher flags of payload/flags.py). The model puller
(`--enable-puller`, multi-model serving) is not part of this agent: refused with a reason.
Unknown flags are refused too, as Go's flag parsing does.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys

from aiohttp import web

from kserve_server.agent import readiness
from kserve_server.payload import flags
from kserve_server.payload_settings import BatcherSettings, LoggerSettings

LOG_FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"
log = logging.getLogger("kserve_server.agent")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="kserve-agent",
        description="Proxy with upstream KServe's payload logger and batcher for a container "
        "on 127.0.0.1:--component-port.",
        allow_abbrev=False,
    )
    add = p.add_argument
    add("--port", default=9081, type=int, help="agent port (default 9081)")
    add("--component-port", default=8080, type=int, help="the component's port on 127.0.0.1")
    add("--workers", dest="log_workers", default=5, type=int, help="concurrent log posts")
    add("--enable-puller", nargs="?", const=True, default=False, type=flags.boolean)
    add("--config-dir", default=None, help="model puller only: not supported")
    add("--model-dir", default=None, help="model puller only: not supported")
    add("--probe-period", default=None, help="accepted; no effect (upstream: unused)")
    add("--grace-period", default=30.0, type=float, help="ours: SIGTERM drain seconds")
    add("--log-level", default="INFO", help="ours: DEBUG, INFO, WARNING")
    flags.add_arguments(p)
    return p


async def serve(
    args: argparse.Namespace,
    *,
    logger_settings: LoggerSettings | None,
    batcher_settings: BatcherSettings | None,
    probe: readiness.ComponentProbe | None = None,
) -> int:
    from kserve_server.agent.app import create_app
    from kserve_server.agent.proxy import Proxy
    from kserve_server.payload import logger as payload_logger

    logger = payload_logger.create(logger_settings) if logger_settings is not None else None
    proxy = Proxy(component_port=args.component_port, logger=logger, batcher=batcher_settings)
    # cleanup waits this long for requests in flight, then the logger flushes
    runner = web.AppRunner(
        create_app(proxy, probe=probe), handle_signals=False, shutdown_timeout=args.grace_period
    )
    await runner.setup()
    site = web.TCPSite(runner, "0.0.0.0", args.port)
    await site.start()
    log.info(
        "agent on :%d → 127.0.0.1:%d (logger: %s, batcher: %s)",
        args.port,
        args.component_port,
        logger_settings.url if logger_settings else "off",
        "on" if proxy.batcher else "off",
    )
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stopping.set)
    await stopping.wait()
    log.info("stopping: no new connections; draining for up to %ss", args.grace_period)
    await site.stop()
    await runner.cleanup()
    log.info("stopped")
    return 0


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format=LOG_FORMAT)
    if args.enable_puller:
        sys.exit(
            "kserve-agent: --enable-puller: the model puller (multi-model serving, TrainedModel) "
            "is not supported by this agent"
        )
    if args.config_dir or args.model_dir:
        log.warning("--config-dir/--model-dir are model puller flags: ignored")
    try:
        logger_settings = flags.logger_settings(args, default_port=args.port)
        batcher_settings = flags.batcher_settings(args)
    except flags.FlagError as exc:
        sys.exit(f"kserve-agent: invalid arguments: {exc}")
    try:
        # The component's readiness probe, as upstream's injector passes it.
        env = os.environ.get(readiness.ENV, "")
        probe = readiness.parse(env, component_port=args.component_port)
    except readiness.ProbeError as exc:
        sys.exit(f"kserve-agent: {exc}")
    sys.exit(
        asyncio.run(
            serve(
                args,
                logger_settings=logger_settings,
                batcher_settings=batcher_settings,
                probe=probe,
            )
        )
    )


if __name__ == "__main__":
    main()
