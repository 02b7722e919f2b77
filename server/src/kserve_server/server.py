"""Programmatic entry point: serve one or several models from one process.

    from kserve_server import server
    from kserve_server.settings import ModelSpec, ServerSettings

if TYPE_CHECKING:
    from kserve_server.grpc.server import GrpcServer

    server.run(
        ServerSettings(http_port=8080),
        models=[
            ModelSpec(name="sklearn-iris", model_dir=Path("/models/iris")),
            ModelSpec(name="intent-classifier", model_dir=Path("/models/intent")),
        ],
    )                                  # blocks until SIGTERM/SIGINT; returns the exit code

`await server.serve(...)` is the same inside a running event loop. `await server.start(...)`
returns a RunningServer (bound `port` and `grpc_port`, `stop()`, `wait()`) for callers that
manage the lifetime themselves, e.g. tests. `models` takes ModelSpecs (a built-in framework
runtime is created for each) and/or `runtimes.base.Model` instances (custom models). The server
listens at once; models load in worker threads and `/v2/health/ready` answers 200 when all of
them are loaded.
With `settings.grpc_port` set, the Open Inference Protocol is also served over gRPC, from the
same event loop and DataPlane (grpc is imported only then).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from aiohttp import web

from kserve_server.repository import ModelRepository
from kserve_server.rest import app as rest_app
from kserve_server.rest import connection
from kserve_server.rest.keys import CLIENT_ERRORS, DATAPLANE, DRAIN
from kserve_server.runtimes.base import Model
from kserve_server.settings import EventLoop, ModelSpec, ServerSettings

if TYPE_CHECKING:
    from kserve_server.grpc.server import GrpcServer

log = logging.getLogger(__name__)
WORKER_LOG_FORMAT = "%(asctime)s %(process)s %(name)s %(levelname)s %(message)s"
ACCESS_LOG_FORMAT = '%a "%r" %s %b %Tf "%{User-Agent}i"'
CUT_OFF_SECONDS = 1.0
# After the drain, how long open keep-alive connections may still bring one more request
# (answered with Connection: close) before they are closed (rest/drain.py).
KEEPALIVE_LINGER_SECONDS = 2.0


@dataclass
class RunningServer:
    """A started server: `port` is the bound port (useful with http_port=0)."""

    settings: ServerSettings
    repository: ModelRepository
    runner: web.AppRunner
    port: int
    grpc: GrpcServer | None = None
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    exit_code: int = 0

    @property
    def grpc_port(self) -> int | None:
        """The bound gRPC port (useful with grpc_port=0); None without gRPC."""
        return self.grpc.port if self.grpc is not None else None

    def stop(self, exit_code: int = 0) -> None:
        """Ask the server to drain and stop (safe from a signal handler)."""
        self.exit_code = self.exit_code or exit_code
        self.stopping.set()

    async def wait(self) -> int:
        """Serve until stop() (or a failed load with exit_on_load_failure); drain; exit code."""
        watcher = asyncio.create_task(self._watch_loading())
        try:
            await self.stopping.wait()
        finally:
            watcher.cancel()
            await self._shutdown()
        return self.exit_code

    async def _watch_loading(self) -> None:
        await asyncio.sleep(0)  # let the app's lifespan start the load task
        if self.repository.loading is not None:
            await asyncio.shield(self.repository.loading)
        failures = self.repository.failures()
        if failures and self.settings.exit_on_load_failure:
            for name, reason in failures.items():
                log.error("model %s: not served: %s", name, reason)
            # the container's termination message: the controller puts it on the
            # InferenceService's status (ModelLoadFailed), so the user sees why
            summary = "; ".join(f"model {name}: {reason}" for name, reason in failures.items())
            write_termination_log(self.settings.termination_log, summary)
            self.stop(exit_code=1)

    async def _shutdown(self) -> None:
        drain = self.runner.app[DRAIN]
        log.info(
            "stopping: draining %d in-flight request(s) (up to %ss)",
            drain.in_flight,
            self.settings.grace_period,
        )
        drain.begin()
        if self.grpc is not None:
            self.grpc.begin_stop()  # drains alongside REST; awaited before models unload
        for site in self.runner.sites:
            await site.stop()  # no new connections; open ones keep reading their requests
        if not await drain.wait(self.settings.grace_period):
            log.warning(
                "grace period over: %d request(s) still in flight are cut off", drain.in_flight
            )
        elif (server := self.runner.server) is not None:
            await drain.linger(lambda: len(server.connections), KEEPALIVE_LINGER_SECONDS)
        await self.runner.cleanup()  # close the connections, then unload models
        log.info("stopped")


TERMINATION_LOG_LIMIT = 4096  # the kubelet keeps no more than this


def write_termination_log(path: Path, message: str) -> None:
    if not path.exists():  # not in a Kubernetes container: nothing reads it
        return
    try:
        path.write_text(message[:TERMINATION_LOG_LIMIT])
    except OSError as err:
        log.warning("cannot write the termination log %s: %s", path, err)


async def start(
    settings: ServerSettings,
    *,
    models: Sequence[ModelSpec | Model],
    models_root: Path | None = None,
) -> RunningServer:
    """Bind and start serving; models load in the background. `models_root` lets the repository
    extension load `<models_root>/<name>` on request."""
    if settings.max_asyncio_workers:
        executor = concurrent.futures.ThreadPoolExecutor(settings.max_asyncio_workers)
        asyncio.get_running_loop().set_default_executor(executor)
    repository = ModelRepository(models, root=models_root)
    app = rest_app.create_app(settings, repository)
    grpc_server = None
    if settings.grpc_port is not None:
        from kserve_server.grpc.server import GrpcServer  # grpc costs ~80 ms to import

        grpc_server = GrpcServer(app[DATAPLANE], settings=settings, metrics=app[rest_app.METRICS])
        app.cleanup_ctx.append(grpc_server.lifespan)  # after the repository's: drains first
    access_log = logging.getLogger("kserve_server.access") if settings.access_log else None
    runner = connection.Runner(
        app,
        handle_signals=False,
        access_log=access_log,
        access_log_format=settings.access_log_format or ACCESS_LOG_FORMAT,
        keepalive_timeout=settings.keepalive_timeout,
        # _shutdown drains first: what is left after the grace period gets this long
        shutdown_timeout=CUT_OFF_SECONDS,
        logger=app[CLIENT_ERRORS],
    )
    try:
        await runner.setup()  # starts the model loads, and gRPC
        site = web.TCPSite(
            runner, settings.host, settings.http_port, reuse_port=settings.reuse_port or None
        )
        await site.start()
    except BaseException:
        await runner.cleanup()  # a port taken: nothing left listening or loading
        raise
    port = runner.addresses[0][1] if runner.addresses else settings.http_port
    loop = type(asyncio.get_running_loop()).__module__.split(".")[0]  # "uvloop" or "asyncio"
    log.info(
        "listening on %s:%s; models: %s; event loop: %s",
        settings.host,
        port,
        repository.names(),
        loop,
    )
    return RunningServer(
        settings=settings, repository=repository, runner=runner, port=port, grpc=grpc_server
    )


async def serve(
    settings: ServerSettings,
    *,
    models: Sequence[ModelSpec | Model],
    models_root: Path | None = None,
) -> int:
    """Serve until SIGTERM or SIGINT, then drain for up to `grace_period`; the exit code."""
    running = await start(settings, models=models, models_root=models_root)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, running.stop)
    try:
        return await running.wait()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(sig)


def run(
    settings: ServerSettings,
    *,
    models: Sequence[ModelSpec | Model],
    models_root: Path | None = None,
) -> int:
    """Blocking variant of serve(): runs its own event loop; with `workers` > 1, supervises that
    many processes sharing the port (see workers.py)."""
    if settings.workers > 1:
        from kserve_server import workers

        return workers.supervise(settings, worker=worker, models=models, models_root=models_root)
    with asyncio.Runner(loop_factory=loop_factory(settings.event_loop)) as runner:
        return runner.run(serve(settings, models=models, models_root=models_root))


def loop_factory(choice: EventLoop) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop for "uvloop", and for "auto" when uvloop is installed; None: asyncio's."""
    if choice == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        if choice == "uvloop":
            raise RuntimeError(
                "event_loop is 'uvloop' but uvloop is not installed "
                "(pip install 'kserve-py-server[uvloop]')"
            ) from None
        return None
    return uvloop.new_event_loop


def worker(
    settings: ServerSettings,
    models: Sequence[ModelSpec | Model],
    models_root: Path | None,
    log_level: int,
) -> None:
    """One process of `--workers N` (spawned by workers.supervise)."""
    logging.basicConfig(level=log_level, format=WORKER_LOG_FORMAT)
    sys.exit(run(settings, models=models, models_root=models_root))
