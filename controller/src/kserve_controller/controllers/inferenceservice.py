"""InferenceService on the engine: Deployment, Service, HPA per component and the Ingress.

Besides its own objects, an InferenceService depends on its ServingRuntime (or
ClusterServingRuntime), the ServiceAccounts its components and their loggers' storage use
(storage credentials) and the Secrets they name (read on each pass, never watched).
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from typing import Any

from kserve_controller import build, conditions, runtimes, spec, status, stop
from kserve_controller.build import credentials, ingress, names, storage_initializer
from kserve_controller.config import ControllerConfig
from kserve_controller.decide import Ref
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


class InferenceServiceController(Controller):
    kind = "InferenceService"
    spoken = "inference service"
    owner_label = names.ISVC_LABEL
    owned = ("Deployment", "Service", "HorizontalPodAutoscaler", "Ingress")

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.storage = StorageIO(ctx)
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
        if stop.requested(isvc.annotations):
            return Plan([], unwanted=stopped_refs(isvc), context=Facts(isvc, None, [], True))
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
        desired = build.all_objects(
            isvc, runtime=runtime, config=config, sources=sources, logger_sources=logger_sources
        )
        objects, unwanted = desired.objects, desired.unwanted
        if gateway_api(isvc, config):  # HTTPRoutes instead of an Ingress: not built yet
            objects = [o for o in objects if o["kind"] != "Ingress"]
            unwanted = [*unwanted, ("Ingress", isvc.name)]
        await self._warn_storage_container(isvc, obj)
        await self.storage.copy_ca_bundle(isvc)
        pods = await reads.list("Pod", isvc.namespace, labels={"app": names.app(isvc)})
        return Plan(objects, unwanted, context=Facts(isvc, runtime, pods))

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
        # Until the components are ready the Ingress is neither created nor updated (upstream).
        isvc: spec.Isvc = plan.context.isvc
        if plan.context.stopped:
            return set()
        waiting = status.ingress_waits_for(
            isvc, **_deployments(isvc, observed), config=self.ctx.config
        )
        return set() if waiting is None else {("Ingress", isvc.name)}

    def status(self, obj: Obj, plan: Plan, observed: Observed) -> Obj:
        facts: Facts = plan.context
        isvc, now = facts.isvc, self.ctx.now()
        new = status.compute(
            isvc,
            **_deployments(isvc, observed),
            ingress_obj=observed.get(("Ingress", isvc.name)),
            entry_service=observed.get(("Service", ingress.entry(isvc))),
            pods=facts.pods,
            runtime=facts.runtime,
            config=self.ctx.config,
            now=now,
        )
        if not facts.stopped and gateway_api(isvc, self.ctx.config):
            ingress_cond = conditions.condition(
                status.INGRESS_READY, "False", "NotSupported", GATEWAY_MESSAGE
            )
            new = conditions.replace(new, ingress_cond, previous=obj, now=now)
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
    """Every object a component (present or not) or the Ingress may have left behind."""
    parts = [names.component(isvc, p) for p in spec.EXTRA_COMPONENTS]
    workloads = [names.predictor(isvc), *parts]
    kinds = ("Deployment", "Service", "HorizontalPodAutoscaler")
    return [*((k, n) for n in workloads for k in kinds), ("Ingress", isvc.name)]


GATEWAY_MESSAGE = (
    "ingress.enableGatewayApi is set in the inferenceservice-config ConfigMap: Gateway API "
    "HTTPRoutes are not supported yet, so no Ingress is made; set it to false for an Ingress"
)


def gateway_api(isvc: spec.Isvc, config: ControllerConfig) -> bool:
    """Would upstream route this InferenceService through Gateway API HTTPRoutes?"""
    return config.ingress.enable_gateway_api and ingress.wanted(isvc, config)


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
