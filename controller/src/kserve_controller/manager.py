"""Wires the controllers (controllers.CONTROLLERS) to watches and engines; serves health and
metrics; leads or stands by.

Each controller declares the kinds it watches (`sources`); the manager opens one watch per
(kind, selector, namespace), shared by every controller that needs it, and routes each event
to the keys it concerns. The inferenceservice-config ConfigMap is watched here: applied
without a restart, it re-reconciles everything. Secrets are never watched or cached.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from kserve_controller import config as config_mod
from kserve_controller import metrics as metrics_mod
from kserve_controller.controllers import CONTROLLERS
from kserve_controller.engine import Context, Engine, Source
from kserve_controller.errors import ConfigError
from kserve_controller.kube import resources
from kserve_controller.kube.client import Kube
from kserve_controller.kube.events import Recorder
from kserve_controller.kube.watch import Watch
from kserve_controller.leader import LeaderElector, LeaseLost
from kserve_controller.reads import Reads
from kserve_controller.settings import ControllerSettings

Obj = dict[str, Any]
log = logging.getLogger(__name__)

PRIMARY_SYNC_SECONDS = 30.0  # then serve anyway: a missing CRD must not keep us unready


@dataclass
class Route:
    """One watch and the (engine, source) pairs its events go to."""

    watch: Watch
    targets: list[tuple[Engine, Source]] = field(default_factory=list)

    @property
    def primary(self) -> bool:
        return any(s.kind == e.kind for e, s in self.targets)

    @property
    def optional(self) -> bool:
        return all(s.optional for _, s in self.targets)

    @property
    def waited(self) -> bool:
        return any(s.wait for _, s in self.targets)


class Manager:
    def __init__(self, kube: Kube, settings: ControllerSettings) -> None:
        self.kube = kube
        self.settings = settings
        self.metrics = metrics_mod.create()
        self.ready = False
        self.stopping = asyncio.Event()
        self.reads = Reads(kube)
        self.ctx = Context(
            kube=kube,
            reads=self.reads,
            recorder=Recorder(kube),
            config=config_mod.ControllerConfig(),
            namespace=settings.namespace,
            on_write=lambda verb, kind: self.metrics.writes.labels(verb, kind).inc(),
        )
        self.engines = [
            Engine(cls(self.ctx), workers=settings.workers, metrics=self.metrics)
            for cls in CONTROLLERS
        ]
        self.routes: dict[tuple[str, str | None, str | None], Route] = {}
        namespaces: list[str | None] = list(settings.namespaces) or [None]
        for engine in self.engines:
            for source in engine.controller.sources():
                for namespace in namespaces if source.scope == "watched" else [None]:
                    self._route(engine, source, namespace)
        self.configmap = Watch(
            kube,
            "ConfigMap",
            namespace=settings.namespace,
            field_selector=f"metadata.name={config_mod.CONFIGMAP_NAME}",
            handler=self._on_config,
            on_gone=self._on_gone,
        )
        self.elector = LeaderElector(
            kube=kube,
            namespace=settings.namespace,
            name=settings.lease_name,
            identity=settings.identity,
            lease_duration=settings.lease_duration_seconds,
            renew_deadline=settings.renew_deadline_seconds,
            retry_period=settings.retry_period_seconds,
        )

    def _route(self, engine: Engine, source: Source, namespace: str | None) -> None:
        at = (source.kind, source.label_selector, namespace)
        route = self.routes.get(at)
        if route is None:
            targets: list[tuple[Engine, Source]] = []
            watch = Watch(
                self.kube,
                source.kind,
                namespace=namespace,
                label_selector=source.label_selector,
                handler=lambda kind, obj: self._on_event(targets, obj),
                on_gone=self._on_gone,
            )
            route = self.routes[at] = Route(watch, targets)
        if source.cached and not any(s.cached for _, s in route.targets):
            self.reads.add(route.watch)
        route.targets.append((engine, source))

    def _on_gone(self, kind: str) -> None:
        self.metrics.relists.labels(kind).inc()

    # -- helpers for callers and tests -----------------------------------------------------

    def engine(self, kind: str) -> Engine:
        return next(e for e in self.engines if e.kind == kind)

    def primary_watches(self, kind: str) -> list[Watch]:
        return [r.watch for r in self.routes.values() if r.watch.kind == kind and r.primary]

    def resync(self, kind: str | None = None) -> None:
        for engine in self.engines:
            if kind is None or engine.kind == kind:
                engine.resync()

    async def wait_idle(self) -> None:
        """Until no engine has work queued, running or scheduled."""
        while not all(e.queue.idle for e in self.engines):
            await asyncio.gather(*(e.queue.wait_idle() for e in self.engines))

    # -- events ------------------------------------------------------------------------------

    def _on_event(self, targets: list[tuple[Engine, Source]], obj: Obj) -> None:
        for engine, source in targets:
            for key in source.keys(obj, self.reads):
                engine.queue.add(key)

    def _on_config(self, kind: str, obj: Obj) -> None:
        data = None if kind == "DELETED" else obj.get("data")
        try:
            new = config_mod.parse(data)
        except ConfigError as err:
            log.error("Keeping the previous configuration: %s", err)
            return
        if new == self.ctx.config:
            return
        self.ctx.config = new
        log.info(
            "Configuration %s changed: reconciling every inference service",
            config_mod.CONFIGMAP_NAME,
        )
        self.resync()

    # -- lifecycle -----------------------------------------------------------------------

    async def run(self) -> None:
        """Serve health and metrics; lead (or wait to); stop on `stopping`."""
        runners = [await self._serve_health(), await self._serve_metrics()]
        try:
            if self.settings.leader_elect:
                self.ready = True  # a standby is healthy and ready, just not leading
                if not await _until(self.elector.acquire(), self.stopping):
                    return
            self.metrics.leader.set(1)
            await self._lead()
        finally:
            self.metrics.leader.set(0)
            await self.elector.release()
            for runner in runners:
                await runner.cleanup()

    async def _lead(self) -> None:
        routes = list(self.routes.values())
        first = [self.configmap, *(r.watch for r in routes if not r.primary and not r.optional)]
        tasks = [_task(w.run(), repr(w)) for w in first]
        optional = {r.watch: _task(r.watch.run(), repr(r.watch)) for r in routes if r.optional}
        # Caches first, so the first passes see runtimes, config and pods.
        waited = [self.configmap, *(r.watch for r in routes if r.waited and r.watch in first)]
        await asyncio.gather(*(w.synced.wait() for w in waited))
        tasks += await self._optional_watches(optional)
        primaries = [r.watch for r in routes if r.primary]
        tasks += [_task(w.run(), repr(w)) for w in primaries]
        workers = [_task(e.queue.run(), f"{e.kind} workers") for e in self.engines]
        tasks.append(_task(self._resync_every(), "resync"))
        if self.settings.leader_elect:
            tasks.append(_task(self.elector.hold(), "lease"))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(
                asyncio.gather(*(w.synced.wait() for w in primaries)), PRIMARY_SYNC_SECONDS
            )
        self.ready = True
        log.info("Controller started: %d workers", self.settings.workers)
        stop = asyncio.create_task(self.stopping.wait())
        try:
            everything = [stop, *tasks, *workers]
            done, _ = await asyncio.wait(everything, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is not stop and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
        finally:
            stop.cancel()
            for task in tasks:
                task.cancel()
            # Let passes in flight finish (bounded), then stop the workers.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    asyncio.shield(self.wait_idle()), self.settings.shutdown_timeout_seconds
                )
            for task in workers:
                task.cancel()
            await asyncio.gather(*tasks, *workers, return_exceptions=True)

    async def _optional_watches(
        self, running: dict[Watch, asyncio.Task[None]]
    ) -> list[asyncio.Task[None]]:
        """The optional watches that RBAC allows; the others are stopped, not waited on, and
        reads of their kind go by GET (if RBAC allows that)."""
        kept = []
        for watch, task in running.items():
            if await watch.synced_or_refused():
                kept.append(task)
                continue
            task.cancel()
            self.reads.discard(watch)
            res = resources.of(watch.kind)
            group = res.api_version.rpartition("/")[0] or "core"
            hints = {s.hint for r in self.routes.values() if r.watch is watch for _, s in r.targets}
            log.error(
                "RBAC: the controller may not list and watch %s (%s API group) in %s: %s. "
                "They are read with get, if allowed; %s",
                res.plural,
                group,
                watch.namespace or "all namespaces",
                watch.forbidden.message if watch.forbidden else "forbidden",
                "; ".join(sorted(h for h in hints if h)) or "upgrade the kserve chart",
            )
        return kept

    async def _resync_every(self) -> None:
        while True:
            await asyncio.sleep(self.settings.resync_seconds)
            self.resync()

    async def _serve_health(self) -> web.AppRunner:
        async def healthz(_: web.Request) -> web.Response:
            return web.Response(text="ok")

        async def readyz(_: web.Request) -> web.Response:
            return (
                web.Response(text="ok") if self.ready else web.Response(status=503, text="starting")
            )

        app = web.Application()
        app.add_routes([web.get("/healthz", healthz), web.get("/readyz", readyz)])
        return await _start(app, self.settings.health_host, self.settings.health_port)

    async def _serve_metrics(self) -> web.AppRunner:
        async def serve(_: web.Request) -> web.Response:
            self.metrics.queue_depth.set(sum(e.queue.depth for e in self.engines))
            body = generate_latest(self.metrics.registry)
            return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

        app = web.Application()
        app.add_routes([web.get("/metrics", serve)])
        return await _start(app, self.settings.metrics_host, self.settings.metrics_port)


async def _start(app: web.Application, host: str, port: int) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=2)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner


def _task(work: Any, name: str) -> asyncio.Task[Any]:
    return asyncio.create_task(work, name=name)


async def _until(work: Any, stop: asyncio.Event) -> bool:
    """Run `work` unless `stop` is set first; True if the work finished."""
    task = asyncio.ensure_future(work)
    waiter = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([task, waiter], return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    if task in done:
        task.result()
        return True
    task.cancel()
    return False


async def main(settings: ControllerSettings) -> int:
    """Run until SIGTERM/SIGINT (0) or until the lease is lost (1)."""
    kube = await Kube.connect(kubeconfig=settings.kubeconfig)
    manager = Manager(kube, settings)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, manager.stopping.set)
    try:
        await manager.run()
    except LeaseLost as err:
        log.error("Stopping: %s", err)
        return 1
    finally:
        await kube.close()
    log.info("Stopped")
    return 0
