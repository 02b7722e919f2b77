"""InferenceGraph on the engine: the router's Deployment, Service and HPA (build/graph.py).

Each `serviceName` step resolves to the InferenceService's predict URL, so a graph waits for
the InferenceServices it names and is looked at again when one of them changes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from kserve_controller import conditions, engine, graph_status, route_status, stop
from kserve_controller.api.inferencegraph import InferenceGraphSpec
from kserve_controller.build import graph as build
from kserve_controller.build import graph_route, httproute
from kserve_controller.config import normalize_mode
from kserve_controller.controllers.gateway_api import GatewayApi
from kserve_controller.decide import Ref
from kserve_controller.engine import Observed, Plan
from kserve_controller.errors import InvalidSpec, NotServed, Waiting
from kserve_controller.reads import Reads

Obj = dict[str, Any]

MODE_ANNOTATION = "serving.kserve.io/deploymentMode"
STOPPED = "stopped"
RETRY_MISSING_CRDS = 10.0  # seconds


@dataclass(frozen=True)
class RouteFacts:
    """Gateway API mode for this graph: is a route wanted, which CRDs are missing, does the
    Gateway exist (None: not looked at)."""

    wanted: bool = False
    missing: list[str] = field(default_factory=list)
    gateway_found: bool | None = None


class InferenceGraphController(engine.Controller):
    kind = build.KIND
    spoken = "inference graph"
    owner_label = build.GRAPH_LABEL
    owned = ("Deployment", "Service", "HorizontalPodAutoscaler", httproute.KIND)
    maybe_absent = (httproute.KIND,)

    def __init__(self, ctx: engine.Context) -> None:
        super().__init__(ctx)
        self.gateway_api = GatewayApi(ctx)

    def sources(self) -> list[engine.Source]:
        return [*super().sources(), engine.Source("InferenceService", keys=graphs_naming)]

    async def plan(self, obj: Obj) -> Plan:
        check(obj)
        name = obj["metadata"]["name"]
        missing = await self.gateway_api.missing_crds()
        kinds_served = [k for k in self.owned if not (missing and k == httproute.KIND)]
        if stop.requested(obj["metadata"].get("annotations")):
            return Plan([], unwanted=[(k, name) for k in kinds_served], context=STOPPED)
        urls = await self._service_urls(obj)
        resolved = build.resolved_spec(obj, urls)
        desired = build.all_objects(obj, spec=resolved, config=self.ctx.config)
        facts = RouteFacts(wanted=graph_route.wanted(obj, self.ctx.config), missing=missing)
        if missing:
            desired = [o for o in desired if o["kind"] != httproute.KIND]
        elif facts.wanted and not graph_status.is_ready(obj.get("status") or {}):
            gateway = self.ctx.config.ingress.gateway
            facts = dataclasses.replace(
                facts, gateway_found=await self.gateway_api.gateway_found(*gateway)
            )
        kinds = {o["kind"] for o in desired}
        unwanted = [(k, name) for k in kinds_served if k not in kinds]
        retry = RETRY_MISSING_CRDS if facts.wanted and missing else None
        return Plan(desired, unwanted=unwanted, context=facts, retry_after=retry)

    def held(self, obj: Obj, plan: Plan, observed: Observed) -> set[Ref]:
        # The route waits for the router, as an InferenceService's routes wait for theirs.
        name = obj["metadata"]["name"]
        if plan.context == STOPPED or conditions.available(observed.get(("Deployment", name))):
            return set()
        return {(httproute.KIND, name)}

    async def _service_urls(self, graph: Obj) -> dict[str, str]:
        namespace = graph["metadata"]["namespace"]
        urls: dict[str, str] = {}
        for name in sorted(build.service_names(graph)):
            isvc = await self.ctx.reads.get("InferenceService", namespace, name)
            if isvc is None:
                message = f"InferenceService {name} not found in namespace {namespace}"
                raise Waiting("ServiceNotFound", message)
            url = build.predict_url(isvc)
            if url is None:
                raise Waiting("ServiceNotReady", f"InferenceService {name} has no address yet")
            urls[name] = url
        return urls

    def status(self, obj: Obj, plan: Plan, observed: Observed) -> Obj:
        if plan.context == STOPPED:
            return graph_status.stopped(obj, now=self.ctx.now())
        name = obj["metadata"]["name"]
        facts: RouteFacts = plan.context
        ingress = None
        if facts.wanted and facts.missing:
            ingress = route_status.not_installed(list(facts.missing))
        elif facts.wanted:
            ingress = route_status.from_routes(
                [("", name)],
                {name: observed.get((httproute.KIND, name))},
                gateway=self.ctx.config.ingress.gateway,
                gateway_found=facts.gateway_found,
            )
        return graph_status.compute(
            obj,
            deployment=observed.get(("Deployment", name)),
            config=self.ctx.config,
            now=self.ctx.now(),
            ingress=ingress,
        )

    def invalid_status(self, obj: Obj, err: NotServed) -> Obj:
        return graph_status.not_ready(
            obj, reason=err.reason, message=err.message, now=self.ctx.now()
        )

    def announce(self, obj: Obj, old: Obj, new: Obj) -> list[engine.Event]:
        if graph_status.is_ready(new) and not graph_status.is_ready(old):
            message = f"InferenceGraph [{obj['metadata']['name']}] is Ready"
            return [engine.Event("Normal", "InferenceGraphReady", message)]
        return []


def check(raw: Obj) -> None:
    try:
        InferenceGraphSpec.model_validate(raw.get("spec") or {})
    except ValidationError as err:
        raise engine.invalid_from_validation(err, reason="InvalidGraph") from err
    build.check(raw)
    mode = (raw["metadata"].get("annotations") or {}).get(MODE_ANNOTATION)
    if mode and normalize_mode(mode) != "Standard":
        raise InvalidSpec(
            "ServerlessModeRejected",
            f"deployment mode {mode} is not supported for InferenceGraphs: "
            "use RawDeployment (Standard)",
        )


def graphs_naming(isvc: Obj, reads: Reads) -> list[engine.ObjectKey]:
    """The graphs of the InferenceService's namespace with a step naming it."""
    name, namespace = isvc["metadata"]["name"], isvc["metadata"]["namespace"]
    return [
        engine.ObjectKey.of(graph)
        for graph in reads.cached(build.KIND, namespace)
        if name in build.service_names(graph)
    ]
