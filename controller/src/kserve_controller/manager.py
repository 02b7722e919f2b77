"""Wires watches → queue → reconcile; serves health and metrics; leads or stands by.

Watches: InferenceServices (all namespaces or the configured ones), the objects they own
(Deployment, Service, HPA, Ingress and their pods, by label), ServingRuntimes and
ClusterServingRuntimes (re-reconcile what they affect), ServiceAccounts (storage credentials:
re-reconcile the InferenceServices that run as one) and the inferenceservice-config
ConfigMap (applied without a restart). Secrets are never watched or cached: each pass reads
the few it needs by name, so a Secret edited in place is seen on the next pass (an event of
the InferenceService, its pods or its ServiceAccount, or the periodic resync).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from kserve_controller import config as config_mod
from kserve_controller import metrics as metrics_mod
from kserve_controller import status
from kserve_controller.build import credentials, names
from kserve_controller.errors import ConfigError
from kserve_controller.graphs import GraphController
from kserve_controller.kube.client import Kube
from kserve_controller.kube.events import Recorder
from kserve_controller.kube.watch import Watch
from kserve_controller.leader import LeaderElector, LeaseLost
from kserve_controller.queue import WorkQueue
from kserve_controller.reconcile import Context, ObjectKey, reconcile
from kserve_controller.settings import ControllerSettings

Obj = dict[str, Any]
log = logging.getLogger(__name__)

OWNED = ("Deployment", "Service", "HorizontalPodAutoscaler", "Ingress", "Pod")


class Manager:
    def __init__(self, kube: Kube, settings: ControllerSettings) -> None:
        self.kube = kube
        self.settings = settings
        self.metrics = metrics_mod.create()
        self.ready = False
        self.stopping = asyncio.Event()
        self._background: set[asyncio.Task[Any]] = set()
        self.queue: WorkQueue[ObjectKey] = WorkQueue(
            self._reconcile, workers=settings.workers, on_error=self._failed
        )
        namespaces: list[str | None] = list(settings.namespaces) or [None]
        selector = names.ISVC_LABEL
        self.isvcs = [
            Watch(kube, "InferenceService", namespace=n, handler=self._on_isvc) for n in namespaces
        ]
        self.owned = [
            Watch(kube, kind, namespace=n, label_selector=selector, handler=self._on_owned)
            for kind in OWNED
            for n in namespaces
        ]
        self.service_accounts = [
            Watch(kube, "ServiceAccount", namespace=n, handler=self._on_service_account)
            for n in namespaces
        ]
        self.runtimes = Watch(kube, "ServingRuntime", handler=self._on_runtime)
        self.cluster_runtimes = Watch(kube, "ClusterServingRuntime", handler=self._on_runtime)
        self.configmap = Watch(
            kube,
            "ConfigMap",
            namespace=settings.namespace,
            field_selector=f"metadata.name={config_mod.CONFIGMAP_NAME}",
            handler=self._on_config,
        )
        # With one namespace set, each kind has one watch: reads come from its cache.
        watches = [*self.isvcs, *self.owned, *self.service_accounts]
        caches = {w.kind: w for w in watches} if len(namespaces) == 1 else {}
        self.ctx = Context(
            kube=kube,
            recorder=Recorder(kube),
            config=config_mod.ControllerConfig(),
            namespace=settings.namespace,
            serving_runtimes=self.runtimes,
            cluster_runtimes=self.cluster_runtimes,
            caches=caches,
            on_write=lambda verb, kind: self.metrics.writes.labels(verb, kind).inc(),
        )
        self.graphs = GraphController(self.ctx, namespaces=namespaces, workers=settings.workers)
        self.elector = LeaderElector(
            kube,
            namespace=settings.namespace,
            name=settings.lease_name,
            identity=settings.identity,
            lease_duration=settings.lease_duration_seconds,
            renew_deadline=settings.renew_deadline_seconds,
            retry_period=settings.retry_period_seconds,
        )

    # -- event handlers: map every event to the InferenceService keys it affects ---------

    def _on_isvc(self, kind: str, obj: Obj) -> None:
        meta = obj["metadata"]
        self.queue.add(ObjectKey(meta["namespace"], meta["name"]))
        if kind != "RESYNC":
            self.graphs.on_isvc(kind, obj)  # graphs wait for the services they name

    def _on_owned(self, kind: str, obj: Obj) -> None:
        meta = obj["metadata"]
        owner = (meta.get("labels") or {}).get(names.ISVC_LABEL)
        if owner:
            self.queue.add(ObjectKey(meta["namespace"], owner))

    def _on_runtime(self, kind: str, obj: Obj) -> None:
        name, namespace = obj["metadata"]["name"], obj["metadata"].get("namespace")
        field = "servingRuntimeName" if namespace else "clusterServingRuntimeName"
        for watch in self.isvcs:
            for isvc in watch.objects(namespace):
                st = isvc.get("status") or {}
                if st.get(field) == name or not status.is_ready(st):
                    self._on_isvc(kind, isvc)

    def _on_service_account(self, kind: str, obj: Obj) -> None:
        name, namespace = obj["metadata"]["name"], obj["metadata"]["namespace"]
        for watch in self.isvcs:
            for isvc in watch.objects(namespace):
                spec = isvc.get("spec") or {}
                parts = [spec.get(p) or {} for p in ("predictor", "transformer", "explainer")]
                accounts = {
                    p.get("serviceAccountName") or credentials.DEFAULT_SERVICE_ACCOUNT
                    for p in parts
                }
                if name in accounts:
                    self._on_isvc(kind, isvc)

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

    def resync(self) -> None:
        for watch in self.isvcs:
            for isvc in watch.objects():
                self._on_isvc("RESYNC", isvc)
        self.graphs.resync()

    # -- work ----------------------------------------------------------------------------

    async def _reconcile(self, key: ObjectKey) -> float | None:
        started = time.perf_counter()
        try:
            result = await reconcile(key, ctx=self.ctx)
            self.metrics.reconciles.labels("success").inc()
            return result
        finally:
            self.metrics.duration.observe(time.perf_counter() - started)
            self.metrics.queue_depth.set(self.queue.depth)

    def _failed(self, key: ObjectKey, err: Exception) -> None:
        self.metrics.errors.inc()
        self.metrics.reconciles.labels("error").inc()
        log.warning("Reconcile of inference service %s failed, will retry: %s", key, err)
        cached = self.ctx.caches.get("InferenceService")
        obj = cached.get(key.namespace, key.name) if cached is not None else None
        if obj is not None:  # say it where users look: kubectl describe isvc
            task = asyncio.create_task(
                self.ctx.recorder.event(obj, kind="Warning", reason="Failed", message=str(err))
            )
            self._background.add(task)
            task.add_done_callback(self._background.discard)

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
        first = [
            self.configmap,
            self.runtimes,
            self.cluster_runtimes,
            *self.owned,
        ]
        tasks = [asyncio.create_task(w.run(), name=repr(w)) for w in first]
        accounts = {w: asyncio.create_task(w.run(), name=repr(w)) for w in self.service_accounts}
        # Caches first, so the first reconciles see runtimes, config and pods.
        await asyncio.gather(*(w.synced.wait() for w in first))
        tasks += await self._service_account_watches(accounts)
        tasks += [asyncio.create_task(w.run(), name=repr(w)) for w in self.isvcs]
        tasks.append(asyncio.create_task(self.queue.run(), name="workers"))
        tasks += self.graphs.tasks()  # InferenceGraphs: own watches and queue
        tasks.append(asyncio.create_task(self._resync_every(), name="resync"))
        if self.settings.leader_elect:
            tasks.append(asyncio.create_task(self.elector.hold(), name="lease"))
        self.ready = True
        log.info("Controller started: %d workers", self.settings.workers)
        stop = asyncio.create_task(self.stopping.wait())
        try:
            done, _ = await asyncio.wait([stop, *tasks], return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is not stop and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
        finally:
            stop.cancel()
            for task in tasks:
                if task.get_name() != "workers":
                    task.cancel()
            workers = next(t for t in tasks if t.get_name() == "workers")
            # Let passes in flight finish (bounded), then stop the workers.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    asyncio.shield(self.queue.wait_idle()), self.settings.shutdown_timeout_seconds
                )
            workers.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _service_account_watches(
        self, running: dict[Watch, asyncio.Task[None]]
    ) -> list[asyncio.Task[None]]:
        """The ServiceAccount watches that RBAC allows; the others are stopped, not waited on.

        They came with storage credentials: a ClusterRole from an older chart forbids them,
        and the controller must still serve (reads of a service account then go by GET).
        """
        kept = []
        for watch, task in running.items():
            if await watch.synced_or_refused():
                kept.append(task)
                continue
            task.cancel()
            self.ctx.caches.pop(watch.kind, None)
            log.error(
                "RBAC: the controller may not list and watch serviceaccounts (core API group) "
                "in %s: %s. Storage credentials are read from service accounts with get, if "
                "allowed; upgrade the kserve chart (its ClusterRole grants get, list, watch on "
                "serviceaccounts and get on secrets)",
                watch.namespace or "all namespaces",
                watch.forbidden.message if watch.forbidden else "forbidden",
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
            self.metrics.queue_depth.set(self.queue.depth)
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
