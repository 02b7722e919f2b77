"""The InferenceGraph controller: its watches, its queue and one pass per graph.

A pass reads the graph, resolves each `serviceName` to the InferenceService's predict URL,
builds the router's Deployment, Service and HPA (build/graph.py), applies what differs and
writes the status (graph_status.py). The manager starts it beside the InferenceService
controller and tells it when an InferenceService changes, since a graph waits for the
services it names. Owned objects go by garbage collection when the graph is deleted.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from typing import Any

from pydantic import ValidationError

from kserve_controller import diff, graph_status
from kserve_controller.api.inferencegraph import InferenceGraphSpec
from kserve_controller.build import graph as build
from kserve_controller.config import normalize_mode
from kserve_controller.errors import InvalidSpec
from kserve_controller.kube.watch import Watch
from kserve_controller.queue import WorkQueue
from kserve_controller.reconcile import Context, ObjectKey

Obj = dict[str, Any]
log = logging.getLogger(__name__)

KIND = "InferenceGraph"
OWNED = ("Deployment", "Service", "HorizontalPodAutoscaler")
MODE_ANNOTATION = "serving.kserve.io/deploymentMode"
RETRY_SECONDS = 30.0  # a missing InferenceService: its watch event usually comes first


class GraphController:
    def __init__(self, ctx: Context, *, namespaces: list[str | None], workers: int) -> None:
        self.ctx = ctx
        kube = ctx.kube
        self.graphs = [Watch(kube, KIND, namespace=n, handler=self._on_graph) for n in namespaces]
        self.owned = [
            Watch(kube, kind, namespace=n, label_selector=build.GRAPH_LABEL, handler=self._on_owned)
            for kind in OWNED
            for n in namespaces
        ]
        watches = [*self.graphs, *self.owned]
        self.caches = {w.kind: w for w in watches} if len(namespaces) == 1 else {}
        self.queue: WorkQueue[ObjectKey] = WorkQueue(
            self.reconcile, workers=workers, on_error=self._failed
        )
        self._applied: dict[tuple[str, str, str], tuple[str, str]] = {}

    @property
    def watches(self) -> list[Watch]:
        return [*self.graphs, *self.owned]

    def tasks(self) -> list[asyncio.Task[None]]:
        runs = [asyncio.create_task(w.run(), name=repr(w)) for w in self.watches]
        return [*runs, asyncio.create_task(self.queue.run(), name="graph workers")]

    # -- events --------------------------------------------------------------------------

    def _on_graph(self, kind: str, obj: Obj) -> None:
        meta = obj["metadata"]
        self.queue.add(ObjectKey(meta["namespace"], meta["name"]))

    def _on_owned(self, kind: str, obj: Obj) -> None:
        meta = obj["metadata"]
        owner = (meta.get("labels") or {}).get(build.GRAPH_LABEL)
        if owner:
            self.queue.add(ObjectKey(meta["namespace"], owner))

    def on_isvc(self, kind: str, isvc: Obj) -> None:
        """An InferenceService changed: the graphs of its namespace that name it."""
        name, namespace = isvc["metadata"]["name"], isvc["metadata"]["namespace"]
        for watch in self.graphs:
            for graph in watch.objects(namespace):
                if name in _named_services(graph):
                    self._on_graph(kind, graph)

    def resync(self) -> None:
        for watch in self.graphs:
            for graph in watch.objects():
                self._on_graph("RESYNC", graph)

    def _failed(self, key: ObjectKey, err: Exception) -> None:
        log.warning("Reconcile of inference graph %s failed, will retry: %s", key, err)

    # -- one pass ------------------------------------------------------------------------

    async def reconcile(self, key: ObjectKey) -> float | None:
        raw = await self._get(KIND, key.namespace, key.name)
        if raw is None or raw["metadata"].get("deletionTimestamp"):
            return None  # owned objects go by garbage collection
        try:
            _check(raw)
        except InvalidSpec as err:
            await self._not_ready(raw, reason=err.reason, message=err.message, warn=True)
            return None
        urls, missing = await self._service_urls(raw)
        if missing is not None:
            reason, message = missing
            await self._not_ready(raw, reason=reason, message=message, warn=False)
            return RETRY_SECONDS
        desired = build.all_objects(
            raw, spec=build.resolved_spec(raw, urls), config=self.ctx.config
        )
        observed = {kind: await self._get(kind, key.namespace, key.name) for kind in OWNED}
        for obj in desired:
            before = observed[obj["kind"]]
            if self._differs(obj, before, raw):
                verb = "Creating" if before is None else "Updating"
                log.info("%s %s %s in namespace %s", verb, obj["kind"], key.name, key.namespace)
                observed[obj["kind"]] = await self._apply(obj)
        wanted = {o["kind"] for o in desired}
        for kind in OWNED:
            if kind not in wanted and _owned(observed[kind], raw):
                log.info("Deleting %s %s in namespace %s", kind, key.name, key.namespace)
                await self.ctx.kube.delete(kind, key.namespace, key.name)
        status = graph_status.compute(
            raw, deployment=observed["Deployment"], config=self.ctx.config, now=self.ctx.now()
        )
        await self._write_status(raw, status)
        return None

    async def _service_urls(self, raw: Obj) -> tuple[dict[str, str], tuple[str, str] | None]:
        namespace = raw["metadata"]["namespace"]
        urls: dict[str, str] = {}
        for name in sorted(build.service_names(raw)):
            isvc = await self._get_isvc(namespace, name)
            if isvc is None:
                message = f"InferenceService {name} not found in namespace {namespace}"
                return urls, ("ServiceNotFound", message)
            url = build.predict_url(isvc)
            if url is None:
                return urls, ("ServiceNotReady", f"InferenceService {name} has no address yet")
            urls[name] = url
        return urls, None

    async def _get(self, kind: str, namespace: str, name: str) -> Obj | None:
        cache = self.caches.get(kind)
        if cache is not None:
            return cache.get(namespace, name)
        return await self.ctx.kube.get(kind, namespace, name)

    async def _get_isvc(self, namespace: str, name: str) -> Obj | None:
        cache = self.ctx.caches.get("InferenceService")
        if cache is not None:
            return cache.get(namespace, name)
        return await self.ctx.kube.get("InferenceService", namespace, name)

    def _differs(self, desired: Obj, observed: Obj | None, graph: Obj) -> bool:
        if observed is None or not _owned(observed, graph):
            return True
        if self._applied.get(_slot(desired)) == (_digest(desired), _version(observed)):
            return False  # as we last wrote it, even if the apiserver rewrote a field
        meta = {k: v for k, v in desired["metadata"].items() if k != "ownerReferences"}
        return not diff.matches({**desired, "metadata": meta}, observed)

    async def _apply(self, obj: Obj) -> Obj:
        applied = await self.ctx.kube.apply(obj)
        applied.setdefault("kind", obj["kind"])
        self._applied[_slot(obj)] = (_digest(obj), _version(applied))
        cache = self.caches.get(obj["kind"])
        if cache is not None:
            cache.remember(applied)
        self.ctx.on_write("apply", obj["kind"])
        return applied

    async def _not_ready(self, raw: Obj, *, reason: str, message: str, warn: bool) -> None:
        status = graph_status.not_ready(raw, reason=reason, message=message, now=self.ctx.now())
        if await self._write_status(raw, status):
            meta = raw["metadata"]
            log.warning(
                "InferenceGraph %s in namespace %s is not ready: %s: %s",
                meta["name"],
                meta["namespace"],
                reason,
                message,
            )
            kind = "Warning" if warn else "Normal"
            await self.ctx.recorder.event(raw, kind=kind, reason=reason, message=message)

    async def _write_status(self, raw: Obj, new: Obj) -> bool:
        old = raw.get("status") or {}
        if new == old:
            return False
        meta = raw["metadata"]
        updated = await self.ctx.kube.apply_status(KIND, meta["namespace"], meta["name"], new)
        updated.setdefault("kind", KIND)
        cache = self.caches.get(KIND)
        if cache is not None:
            cache.remember(updated)
        self.ctx.on_write("status", KIND)
        if graph_status.is_ready(new) and not graph_status.is_ready(old):
            log.info("InferenceGraph %s is Ready at %s", meta["name"], new.get("url"))
            await self.ctx.recorder.event(
                raw,
                kind="Normal",
                reason="InferenceGraphReady",
                message=f"InferenceGraph [{meta['name']}] is Ready",
            )
        return True


def _check(raw: Obj) -> None:
    try:
        InferenceGraphSpec.model_validate(raw.get("spec") or {})
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidSpec("InvalidGraph", f"spec.{where}: {first['msg']}") from err
    build.check(raw)
    mode = (raw["metadata"].get("annotations") or {}).get(MODE_ANNOTATION)
    if mode and normalize_mode(mode) != "Standard":
        raise InvalidSpec(
            "ServerlessModeRejected",
            f"deployment mode {mode} is not supported for InferenceGraphs: "
            "use RawDeployment (Standard)",
        )


def _named_services(graph: Obj) -> set[str]:
    nodes = (graph.get("spec") or {}).get("nodes") or {}
    return {
        str(step["serviceName"])
        for node in nodes.values()
        for step in node.get("steps") or []
        if step.get("serviceName")
    }


def _owned(obj: Obj | None, graph: Obj) -> bool:
    refs = (obj or {}).get("metadata", {}).get("ownerReferences") or []
    return any(r.get("uid") == graph["metadata"].get("uid") for r in refs)


def _digest(obj: Obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()


def _version(obj: Obj) -> str:
    return str(obj.get("metadata", {}).get("resourceVersion", ""))


def _slot(obj: Obj) -> tuple[str, str, str]:
    return (obj["kind"], obj["metadata"]["namespace"], obj["metadata"]["name"])
