"""InferenceService on the engine: Deployment, Service, HPA per component and the Ingress.

Besides its own objects, an InferenceService depends on its ServingRuntime (or
ClusterServingRuntime), the ServiceAccount its components run as (storage credentials) and
the Secrets that names (read on each pass, never watched).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from kserve_controller import build, runtimes, spec, status
from kserve_controller.api.inferenceservice import InferenceServiceSpec
from kserve_controller.build import credentials, ingress, names
from kserve_controller.config import ControllerConfig
from kserve_controller.engine import (
    Context,
    Controller,
    Event,
    ObjectKey,
    Observed,
    Plan,
    Ref,
    Source,
    by_label,
    invalid_from_validation,
)
from kserve_controller.errors import InvalidSpec, NotServed
from kserve_controller.reads import Reads
from kserve_controller.storage_io import StorageIO

Obj = dict[str, Any]

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


class InferenceServiceController(Controller):
    kind = "InferenceService"
    spoken = "inference service"
    owner_label = names.ISVC_LABEL
    owned = ("Deployment", "Service", "HorizontalPodAutoscaler", "Ingress")

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.storage = StorageIO(ctx)

    def sources(self) -> list[Source]:
        return [
            *super().sources(),
            Source("Pod", keys=by_label(names.ISVC_LABEL), label_selector=names.ISVC_LABEL),
            Source("ServingRuntime", keys=runtime_users, scope="all"),
            Source("ClusterServingRuntime", keys=runtime_users, scope="all"),
            Source("ServiceAccount", keys=account_users, optional=True, hint=ACCOUNT_HINT),
        ]

    async def plan(self, obj: Obj) -> Plan:
        config, reads = self.ctx.config, self.ctx.reads
        isvc = read(obj, config)
        runtime = await self._runtime(isvc)
        sources = {
            part.component: found
            for part in spec.components(isvc)
            if (found := await self.storage.sources(part, obj)) is not None
        }
        desired = build.all_objects(isvc, runtime=runtime, config=config, sources=sources)
        await self.storage.copy_ca_bundle(isvc)
        pods = await reads.list("Pod", isvc.namespace, labels={"app": names.app(isvc)})
        return Plan(desired.objects, desired.unwanted, context=Facts(isvc, runtime, pods))

    async def _runtime(self, isvc: spec.Isvc) -> runtimes.Runtime | None:
        if isvc.model is None:
            return None  # custom containers need no runtime
        reads = self.ctx.reads
        namespaced, cluster = await asyncio.gather(
            reads.list("ServingRuntime", isvc.namespace), reads.list("ClusterServingRuntime")
        )
        return runtimes.select(isvc.model, namespaced=namespaced, cluster=cluster)

    def held(self, obj: Obj, plan: Plan, observed: Observed) -> set[Ref]:
        # Until the components are ready the Ingress is neither created nor updated (upstream).
        isvc: spec.Isvc = plan.context.isvc
        waiting = status.ingress_waits_for(
            isvc, **_deployments(isvc, observed), config=self.ctx.config
        )
        return set() if waiting is None else {("Ingress", isvc.name)}

    def status(self, obj: Obj, plan: Plan, observed: Observed) -> Obj:
        facts: Facts = plan.context
        isvc = facts.isvc
        return status.compute(
            isvc,
            **_deployments(isvc, observed),
            ingress_obj=observed.get(("Ingress", isvc.name)),
            entry_service=observed.get(("Service", ingress.entry(isvc))),
            pods=facts.pods,
            runtime=facts.runtime,
            config=self.ctx.config,
            now=self.ctx.now(),
        )

    def invalid_status(self, obj: Obj, err: NotServed) -> Obj:
        spec_err = err if isinstance(err, InvalidSpec) else InvalidSpec(err.reason, err.message)
        return status.invalid(_read_loose(obj), spec_err, now=self.ctx.now())

    def announce(self, obj: Obj, old: Obj, new: Obj) -> list[Event]:
        name = obj["metadata"]["name"]
        was, ready = status.is_ready(old), status.is_ready(new)
        if ready and not was:
            message = f"InferenceService [{name}] is Ready"
            return [Event("Normal", "InferenceServiceReady", message)]
        if was and not ready:
            why = ", ".join(status.not_ready_reasons(new))
            message = f"InferenceService [{name}] is no longer Ready because of: {why}"
            return [Event("Warning", "InferenceServiceNotReady", message)]
        return []


def read(raw: Obj, config: ControllerConfig) -> spec.Isvc:
    try:
        InferenceServiceSpec.model_validate(raw.get("spec") or {})
    except ValidationError as err:
        raise invalid_from_validation(err, reason="InvalidPredictorSpec") from err
    isvc = spec.parse(raw)
    spec.check_supported(isvc, raw, config=config)
    return isvc


def _read_loose(raw: Obj) -> spec.Isvc:
    """Enough of a broken InferenceService to write its status."""
    meta = raw["metadata"]
    return spec.Isvc(
        name=meta["name"],
        namespace=meta["namespace"],
        uid=meta.get("uid", ""),
        generation=int(meta.get("generation") or 0),
        labels=dict(meta.get("labels") or {}),
        annotations=dict(meta.get("annotations") or {}),
        predictor={},
        model=None,
        status=dict(raw.get("status") or {}),
    )


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


def account_users(account: Obj, reads: Reads) -> list[ObjectKey]:
    """The InferenceServices with a component running as this ServiceAccount."""
    name, namespace = account["metadata"]["name"], account["metadata"]["namespace"]
    found = []
    for isvc in reads.cached(InferenceServiceController.kind, namespace):
        body = isvc.get("spec") or {}
        parts = [body[p] for p in ("predictor", *spec.EXTRA_COMPONENTS) if body.get(p)]
        default = credentials.DEFAULT_SERVICE_ACCOUNT
        accounts = {p.get("serviceAccountName") or default for p in parts}
        if name in accounts:
            found.append(ObjectKey.of(isvc))
    return found
