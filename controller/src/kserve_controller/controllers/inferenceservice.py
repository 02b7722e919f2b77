"""InferenceService on the engine: Deployment, Service and scaler (an HPA or a KEDA
ScaledObject, by autoscaler class) per component, and the Ingress or HTTPRoutes.

Besides its own objects, an InferenceService depends on its ServingRuntime (or
ClusterServingRuntime), the ServiceAccounts its components and their loggers' storage use
(storage credentials) and the Secrets they name (read on each pass, never watched).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass
from typing import Any

from kserve_controller import (
    build,
    canary_status,
    conditions,
    route_status,
    runtimes,
    spec,
    status,
    stop,
)
from kserve_controller.build import (
    activator,
    canary,
    credentials,
    httproute,
    ingress,
    names,
    revisions,
    scaledobject,
    storage_initializer,
)
from kserve_controller.config import ControllerConfig
from kserve_controller.controllers.gateway_api import GatewayApi
from kserve_controller.controllers.keda import Keda
from kserve_controller.decide import Ref, owned_by
from kserve_controller.engine import (
    Context,
    Controller,
    Event,
    ObjectKey,
    Observed,
    Plan,
    Source,
    by_label,
)
from kserve_controller.errors import InvalidSpec, NotServed, NotSupported
from kserve_controller.reads import Reads
from kserve_controller.storage_io import StorageIO

Obj = dict[str, Any]
log = logging.getLogger(__name__)

ACCOUNT_HINT = (
    "upgrade the kserve chart (its ClusterRole grants get, list, watch on serviceaccounts "
    "and get on secrets)"
)


@dataclass(frozen=True)
class Facts:
    """What the plan read, for the status."""

    isvc: spec.Isvc
    runtime: runtimes.Runtime | None
    pods: list[Obj]
    stopped: bool = False
    routes: bool = False  # Gateway API mode
    missing_crds: tuple[str, ...] = ()
    gateway_found: bool | None = None
    routed: dict[str, int] | None = None  # predictor Service -> percent the routes carry
    held: frozenset[Ref] = frozenset()  # objects the rollout holds back this pass
    traffic: list[Obj] | None = None  # status.components.predictor.traffic
    keda_missing: bool = False  # a component wants a ScaledObject; the CRD is not served


class InferenceServiceController(Controller):
    kind = "InferenceService"
    spoken = "inference service"
    owner_label = names.ISVC_LABEL
    owned = (*build.WORKLOAD_KINDS, "Ingress", httproute.KIND)
    maybe_absent = (httproute.KIND, scaledobject.KIND)

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.storage = StorageIO(ctx)
        self.gateway_api = GatewayApi(ctx)
        self.keda = Keda(ctx)
        # (uid, kind, name) -> when first seen orphaned, and since when no route names it
        self._drain_since: dict[tuple[str, str, str], float] = {}
        self._unrouted_since: dict[tuple[str, str, str], float] = {}
        self._warned: set[tuple[str, str]] = set()  # (isvc uid, ClusterStorageContainer)

    def sources(self) -> list[Source]:
        return [
            *super().sources(),
            Source("Pod", keys=by_label(names.ISVC_LABEL), label_selector=names.ISVC_LABEL),
            Source("ServingRuntime", keys=runtime_users, scope="all"),
            Source("ClusterServingRuntime", keys=runtime_users, scope="all"),
            Source("ServiceAccount", keys=account_users, optional=True, hint=ACCOUNT_HINT),
            Source("ClusterStorageContainer", keys=every_isvc, scope="all"),
        ]

    async def plan(self, obj: Obj) -> Plan:
        config, reads = self.ctx.config, self.ctx.reads
        isvc = read(obj, config)
        keda = await self.keda.installed()
        if stop.requested(isvc.annotations):
            refs = [r for r in stopped_refs(isvc) if keda or r[0] != scaledobject.KIND]
            return Plan([], unwanted=refs, context=Facts(isvc, None, [], True))
        runtime = await self._runtime(isvc)
        sources = {
            part.kind: found
            for part in spec.components(isvc)
            if (found := await self.storage.sources(part, obj)) is not None
        }
        logger_sources = {
            part.kind: found
            for part in spec.components(isvc)
            if (found := await self.storage.logger_sources(part, obj)) is not None
        }
        routes = httproute.wanted(isvc, config)
        latest = prev = None
        if routes:  # canaryTrafficPercent's state is its Deployments (cached reads)
            latest = await reads.get("Deployment", isvc.namespace, names.predictor(isvc))
            prev = await reads.get("Deployment", isvc.namespace, revisions.prev_name(isvc))
        desired = build.all_objects(
            isvc,
            runtime=runtime,
            config=config,
            sources=sources,
            logger_sources=logger_sources,
            latest=latest,
            prev=prev,
        )
        objects, unwanted = desired.objects, desired.unwanted
        keda_missing = False
        if not keda:  # nothing to apply or delete: the kind is not served
            keda_missing = any(o["kind"] == scaledobject.KIND for o in objects)
            objects = [o for o in objects if o["kind"] != scaledobject.KIND]
            unwanted = [r for r in unwanted if r[0] != scaledobject.KIND]
        orphans = await self._orphans(isvc, objects, keda=keda)
        draining = await self._draining(isvc, orphans) if routes else set()
        unwanted += [r for r in orphans if r not in draining]
        missing = await self.gateway_api.missing_crds()
        gateway_found: bool | None = None
        if missing:  # nothing to apply or delete: the kind is not served
            objects = [o for o in objects if o["kind"] != httproute.KIND]
            unwanted = [r for r in unwanted if r[0] != httproute.KIND]
        elif (
            routes
            and (status.condition(isvc.status, status.INGRESS_READY) or {}).get("status") != "True"
        ):
            gateway_found = await self.gateway_api.gateway_found(*config.ingress.gateway)
        await self._warn_storage_container(isvc, obj)
        await self.storage.copy_ca_bundle(isvc)
        pods = await reads.list("Pod", isvc.namespace, labels={"app": names.app(isvc)})
        facts = Facts(
            isvc,
            runtime,
            pods,
            routes=routes,
            missing_crds=tuple(missing) if routes else (),
            gateway_found=gateway_found,
            routed=(desired.weights or {}) if routes else {},
            held=frozenset(desired.held),
            traffic=desired.traffic if routes else None,
            keda_missing=keda_missing,
        )
        # Without the CRDs no event says when they come: look again. A drained backend is
        # deleted once the gateway has taken the route that no longer names it.
        retry = RETRY_MISSING_CRDS if (routes and missing) or keda_missing else None
        retry = DRAIN_RETRY if draining else retry
        return Plan(objects, unwanted, context=facts, retry_after=retry)

    async def _draining(self, isvc: spec.Isvc, orphans: list[Ref]) -> set[Ref]:
        """Orphaned predictor objects not to delete yet: a route (as last seen) still sends
        them traffic, or the gateway has not yet acknowledged a route's latest spec, or did
        so less than ACK_GRACE ago (a gateway reports a route before its proxies run the new
        configuration: Traefik's provider throttle is 2 s). Waits at most DRAIN_SECONDS per
        object (a gateway that never writes status)."""
        if not orphans:
            return set()
        seen = [
            await self.ctx.reads.get(httproute.KIND, isvc.namespace, name)
            for name in httproute.every_name(isvc)
        ]
        found = [r for r in seen if r is not None]
        named = {b.get("name") for r in found for b in route_status.backends(r)}
        pending = any(
            not route_status.acknowledged(r, gateway=self.ctx.config.ingress.gateway) for r in found
        )
        now, keep = time.monotonic(), set()
        for ref in orphans:
            key = (isvc.uid, *ref)
            since = self._drain_since.setdefault(key, now)
            if ref[1] in named or pending:
                self._unrouted_since.pop(key, None)
                if now - since < DRAIN_SECONDS:
                    keep.add(ref)
                    continue
            elif now - self._unrouted_since.setdefault(key, now) < ACK_GRACE:
                keep.add(ref)
                continue
            self._drain_since.pop(key, None)
            self._unrouted_since.pop(key, None)
        return keep

    async def _orphans(self, isvc: spec.Isvc, objects: list[Obj], *, keda: bool) -> list[Ref]:
        """Predictor objects of ours no longer wanted: a renamed predictor (a promoted
        canary) or a removed canary leaves its Deployment, Service and scaler behind. Only
        objects this InferenceService owns: KEDA's HPA carries our labels (it copies the
        ScaledObject's) but is the ScaledObject's."""
        wanted = {(o["kind"], o["metadata"]["name"]) for o in objects}
        labels = {names.ISVC_LABEL: isvc.name, names.COMPONENT_LABEL: "predictor"}
        found: list[Ref] = []
        for kind in build.WORKLOAD_KINDS:
            if kind == scaledobject.KIND and not keda:
                continue
            for obj in await self.ctx.reads.list(kind, isvc.namespace, labels=labels):
                key = (kind, str(obj["metadata"]["name"]))
                if key not in wanted and owned_by(obj, isvc.uid):
                    found.append(key)
        return found

    async def _runtime(self, isvc: spec.Isvc) -> runtimes.Runtime | None:
        if isvc.model is None:
            return None  # custom containers need no runtime
        reads = self.ctx.reads
        namespaced, cluster = await asyncio.gather(
            reads.list("ServingRuntime", isvc.namespace), reads.list("ClusterServingRuntime")
        )
        return runtimes.select(isvc.model, namespaced=namespaced, cluster=cluster)

    async def _warn_storage_container(self, isvc: spec.Isvc, raw: Obj) -> None:
        """One Warning when a ClusterStorageContainer matches the model's URI: upstream would
        download with it; this controller uses its own storage initializer."""
        main = spec.predictor(isvc)
        uri = main.storage_uri
        if uri is None or not storage_initializer.injects(main):
            return
        containers = await self.ctx.reads.list("ClusterStorageContainer")
        found = next((c for c in containers if storage_container_matches(c, uri)), None)
        if found is None or (isvc.uid, found["metadata"]["name"]) in self._warned:
            return
        self._warned.add((isvc.uid, found["metadata"]["name"]))
        message = (
            f"ClusterStorageContainer {found['metadata']['name']} matches the model's storageUri, "
            "but this controller downloads models with its own storage initializer"
        )
        log.warning("InferenceService %s in namespace %s: %s", isvc.name, isvc.namespace, message)
        await self.ctx.recorder.event(
            raw, kind="Warning", reason="StorageContainerNotUsed", message=message
        )

    def held(self, obj: Obj, plan: Plan, observed: Observed) -> set[Ref]:
        # Until the components are ready the Ingress is neither created nor updated
        # (upstream); an HTTPRoute waits for its component, the top-level one for all.
        isvc: spec.Isvc = plan.context.isvc
        if plan.context.stopped:
            return set()
        deployments = _deployments(isvc, observed)
        waiting = status.ingress_waits_for(isvc, **deployments, config=self.ctx.config)
        held: set[Ref] = set(plan.context.held) | _scaler_switch(plan, observed, uid=isvc.uid)
        if waiting is not None:
            held |= {("Ingress", isvc.name), (httproute.KIND, isvc.name)}
        ready = {"predictor": deployments["deployment"], **deployments["others"]}
        for part, name in httproute.names_of(isvc):
            if part and not conditions.available(ready.get(part)):
                held.add((httproute.KIND, name))
        return held

    def status(self, obj: Obj, plan: Plan, observed: Observed) -> Obj:
        facts: Facts = plan.context
        isvc, now, config = facts.isvc, self.ctx.now(), self.ctx.config
        ingress_obj = observed.get(("Ingress", isvc.name))
        ingress_cond = None
        info: list[Obj] = []
        if facts.routes and facts.missing_crds:
            ingress_cond = route_status.not_installed(list(facts.missing_crds))
        elif facts.routes:
            ingress_cond = route_status.from_routes(
                httproute.names_of(isvc),
                {n: observed.get((httproute.KIND, n)) for _, n in httproute.names_of(isvc)},
                gateway=config.ingress.gateway,
                gateway_found=facts.gateway_found,
            )
        else:
            admitted = route_status.admitted(ingress_obj, class_name=_class(config))
            info += [admitted] if admitted is not None else []
        canaries = canary_status.statuses(
            isvc,
            {n: observed.get(("Deployment", n)) for _, n in plan.refs() if n},
            routed=facts.routed or {},
        )
        info += canary_status.conditions(
            canaries,
            gateway_api=facts.routes,
            traffic_percent=revisions.percent(isvc) is not None,
        )
        scaled = {
            part.kind: observed.get((scaledobject.KIND, names.workload(part)))
            for part in spec.components(isvc)
            if part.scaling.wants_keda
        }
        new = status.compute(
            isvc,
            **_deployments(isvc, observed),
            scaled_objects=scaled,
            keda_missing=facts.keda_missing,
            ingress_obj=ingress_obj,
            entry_service=observed.get(("Service", ingress.entry(isvc))),
            pods=facts.pods,
            runtime=facts.runtime,
            config=config,
            now=now,
            ingress_cond=ingress_cond,
            info=info,
        )
        if canaries:
            new["canaryStatuses"] = canaries
        if facts.traffic is not None and not facts.stopped:
            predictor = new.setdefault("components", {}).setdefault("predictor", {})
            predictor["traffic"] = facts.traffic
        return stop.mark(new, stopped=facts.stopped, previous=obj, now=now)

    def invalid_status(self, obj: Obj, err: NotServed) -> Obj:
        spec_err = err if isinstance(err, InvalidSpec) else InvalidSpec(err.reason, err.message)
        return status.invalid(spec.meta(obj), spec_err, now=self.ctx.now())

    def announce(self, obj: Obj, old: Obj, new: Obj) -> list[Event]:
        name = obj["metadata"]["name"]
        was, ready = status.is_ready(old), status.is_ready(new)
        if ready and not was:
            message = f"InferenceService [{name}] is Ready"
            return [Event("Normal", "InferenceServiceReady", message)]
        if was and not ready:
            why = ", ".join(r for r in status.not_ready_reasons(new) if r != stop.STOPPED)
            message = f"InferenceService [{name}] is no longer Ready because of: {why}"
            return [Event("Warning", "InferenceServiceNotReady", message)]
        return []


def read(raw: Obj, config: ControllerConfig) -> spec.Isvc:
    isvc = spec.parse(raw)
    spec.check_supported(isvc, config=config)
    if isvc.spec.predictor.storage_container_name:
        raise NotSupported(
            "spec.predictor.storageContainerName is not supported: this controller downloads "
            "models with its own storage initializer, not a ClusterStorageContainer"
        )
    return isvc


def stopped_refs(isvc: spec.Isvc) -> list[Ref]:
    """Every object a component (present or not), a canary, the Ingress or a route may have
    left behind."""
    parts = [names.component(isvc, p) for p in spec.EXTRA_COMPONENTS]
    canaries = [canary_status.service(isvc, str(e.predictor.name)) for e in canary.entries(isvc)]
    workloads = [names.predictor(isvc), *parts, *canaries]
    routes = [(httproute.KIND, n) for n in httproute.every_name(isvc)]
    workload_refs = [(k, n) for n in workloads for k in build.WORKLOAD_KINDS]
    activators = [("Service", n + activator.SUFFIX) for n in workloads]
    return [*workload_refs, *activators, ("Ingress", isvc.name), *routes]


# A workload's two possible scalers: one is not made while the other (of ours) still exists.
# KEDA refuses a ScaledObject for a Deployment an HPA scales, and two HPAs (ours, KEDA's) on
# one Deployment fight; the one going is deleted in the same pass, its watch event brings the
# next.
_SWITCH = {
    scaledobject.KIND: "HorizontalPodAutoscaler",
    "HorizontalPodAutoscaler": scaledobject.KIND,
}


def _scaler_switch(plan: Plan, observed: Observed, *, uid: str) -> set[Ref]:
    held: set[Ref] = set()
    for obj in plan.objects:
        other = _SWITCH.get(obj["kind"])
        name = obj["metadata"]["name"]
        if other is not None and owned_by(observed.get((other, name)), uid):
            held.add((obj["kind"], name))
    return held


RETRY_MISSING_CRDS = 10.0  # seconds
DRAIN_RETRY = 1.0  # seconds between looks while a backend drains
DRAIN_SECONDS = 30.0  # the longest a backend waits for the gateway before it is deleted
ACK_GRACE = 3.0  # seconds between the gateway's acknowledgement and a backend's deletion


def _class(config: ControllerConfig) -> str | None:
    return config.ingress.ingress_class_name


def storage_container_matches(container: Obj, uri: str) -> bool:
    """Upstream's rule: a prefix or a regular expression of supportedUriFormats matches."""
    if container.get("disabled"):
        return False
    formats = (container.get("spec") or {}).get("supportedUriFormats") or []
    for fmt in formats:
        prefix, pattern = fmt.get("prefix"), fmt.get("regex")
        if prefix and uri.startswith(prefix):
            return True
        if pattern:
            try:
                if re.search(pattern, uri):
                    return True
            except re.error:
                continue  # upstream's Go regexp may accept what Python's refuses: no match
    return False


def _deployments(isvc: spec.Isvc, observed: Observed) -> dict[str, Any]:
    """The predictor's Deployment and the other components', as status.compute takes them."""
    return {
        "deployment": observed.get(("Deployment", names.predictor(isvc))),
        "others": {p: observed.get(("Deployment", names.component(isvc, p))) for p in isvc.extras},
    }


# -- which InferenceServices an event concerns ------------------------------------------------


def runtime_users(runtime: Obj, reads: Reads) -> list[ObjectKey]:
    """The InferenceServices a runtime serves, and those not Ready (it may serve them now)."""
    name, namespace = runtime["metadata"]["name"], runtime["metadata"].get("namespace")
    field = "servingRuntimeName" if namespace else "clusterServingRuntimeName"
    return [
        ObjectKey.of(isvc)
        for isvc in reads.cached(InferenceServiceController.kind, namespace)
        if (st := isvc.get("status") or {}).get(field) == name or not status.is_ready(st)
    ]


def every_isvc(obj: Obj, reads: Reads) -> list[ObjectKey]:
    return [ObjectKey.of(isvc) for isvc in reads.cached(InferenceServiceController.kind)]


def account_users(account: Obj, reads: Reads) -> list[ObjectKey]:
    """The InferenceServices with a component running as this ServiceAccount."""
    name, namespace = account["metadata"]["name"], account["metadata"]["namespace"]
    found = []
    for isvc in reads.cached(InferenceServiceController.kind, namespace):
        default = credentials.DEFAULT_SERVICE_ACCOUNT
        accounts = {a or default for a in spec.service_account_names(isvc)}
        if name in accounts:
            found.append(ObjectKey.of(isvc))
    return found
