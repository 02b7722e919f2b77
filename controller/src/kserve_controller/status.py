"""Observed children → the InferenceService status users read (pure).

Conditions PredictorReady (from the Deployment), TransformerReady and ExplainerReady (from
theirs, when the InferenceService has them), IngressReady (the Ingress exists, or none is
wanted; never waits for a load balancer) and Ready (all of them True). modelStatus comes from
the newest predictor pod, so a failed download shows its termination message. Transition
times are kept while a condition's status stays the same, so an unchanged world gives an
equal status and no write.
"""

from __future__ import annotations

from typing import Any, get_args

from kserve_controller import conditions, pod_failure, pod_readiness, scaler_status, spec
from kserve_controller.api.inferenceservice import FailureReason
from kserve_controller.build import activator, ingress, storage_initializer
from kserve_controller.config import ControllerConfig
from kserve_controller.errors import InvalidSpec
from kserve_controller.runtimes import CLUSTER, Runtime
from kserve_controller.spec import Isvc, Meta

Obj = dict[str, Any]

PREDICTOR_READY = "PredictorReady"
COMPONENT_READY = {"transformer": "TransformerReady", "explainer": "ExplainerReady"}
INGRESS_READY = "IngressReady"
READY = "Ready"
MAIN_CONTAINER = "kserve-container"


def compute(
    isvc: Isvc,
    *,
    deployment: Obj | None,
    ingress_obj: Obj | None,
    pods: list[Obj],
    runtime: Runtime | None,
    config: ControllerConfig,
    now: str,
    others: dict[str, Obj | None] | None = None,
    entry_service: Obj | None = None,
    ingress_cond: Obj | None = None,
    info: list[Obj] | None = None,
    scaled_objects: dict[str, Obj | None] | None = None,
    keda_missing: bool = False,
) -> Obj:
    """`deployment`: the predictor's; `others`: the transformer's and explainer's, by component;
    `entry_service`: the Service taking the traffic (its port goes into a headless address);
    `ingress_cond`: IngressReady when decided elsewhere (Gateway API routes); `info`:
    conditions beside the others that do not gate Ready; `scaled_objects`: the ScaledObject of
    each keda-class component, by component (None: not there); `keda_missing`: their CRD is not
    served."""
    model_status = _model_status(pods, deployment_available=_available(deployment))
    predictor = _deployment_condition(PREDICTOR_READY, deployment, model_status, pods=pods)
    waiting = ingress_waits_for(isvc, deployment=deployment, others=others or {}, config=config)
    if ingress_cond is None:
        ingress_cond = _ingress_condition(isvc, waiting, ingress_obj, config)
    extra = {
        part: _deployment_condition(COMPONENT_READY[part], (others or {}).get(part), {})
        for part in COMPONENT_READY
        if part in isvc.extras
    }
    workloads = {"predictor": deployment, **(others or {})}
    for component in spec.components(isvc):
        if not component.scaling.wants_keda:
            continue
        kind = component.kind
        folded = scaler_status.fold(
            predictor if kind == "predictor" else extra[kind],
            scaled_object=(scaled_objects or {}).get(kind),
            deployment=workloads.get(kind),
            missing=keda_missing,
            held=activator.wanted(component, config),
        )
        if kind == "predictor":
            predictor = folded
        else:
            extra[kind] = folded
    # Ready's reason is the first False one: the component's says more than the Ingress's.
    conds = [predictor, *extra.values(), ingress_cond]
    status: Obj = {
        "observedGeneration": isvc.generation,
        "deploymentMode": "Standard",
        "conditions": _with_ready(conds, previous=isvc.status, now=now, info=info or []),
        "modelStatus": model_status,
    }
    if waiting is None:
        status["url"] = ingress.url(isvc, config, service=entry_service)
        status["address"] = {"url": ingress.address_url(isvc, service=entry_service)}
    else:  # as upstream: URLs are set once the Ingress is; earlier ones stay
        status.update({k: isvc.status[k] for k in ("url", "address") if k in isvc.status})
    components: Obj = {}
    if predictor["status"] == "True":
        components["predictor"] = {"url": ingress.component_url(isvc, "predictor", config)}
    for part, cond in extra.items():
        if cond["status"] == "True":
            components[part] = {"url": ingress.component_url(isvc, part, config)}
    if components:
        status["components"] = components
    if runtime is not None:
        key = "clusterServingRuntimeName" if runtime.kind == CLUSTER else "servingRuntimeName"
        status[key] = runtime.name
    return status


def _ingress_condition(
    isvc: Isvc, waiting: str | None, ingress_obj: Obj | None, config: ControllerConfig
) -> Obj:
    if waiting is not None:
        return _cond(INGRESS_READY, "False", f"{waiting} ingress not created")
    if ingress.wanted(isvc, config) and ingress_obj is None:
        return _cond(INGRESS_READY, "False", "IngressNotCreated", "Ingress not created yet")
    return _cond(INGRESS_READY, "True")


def ingress_waits_for(
    isvc: Isvc, *, deployment: Obj | None, others: dict[str, Obj | None], config: ControllerConfig
) -> str | None:
    """The component the Ingress waits for ("Predictor", "Transformer", "Explainer"), or None.

    As upstream, the Ingress is made (and updated) only once the predictor is ready, and the
    transformer when there is one, else the explainer when there is one. Cluster-local and
    disabled ingresses wait for nothing.
    """
    if not ingress.wanted(isvc, config):
        return None
    if not _available(deployment):
        return "Predictor"
    for part in ("transformer", "explainer"):
        if part in isvc.extras:
            return None if _available(others.get(part)) else part.capitalize()
    return None


def invalid(isvc: Meta, err: InvalidSpec, *, now: str) -> Obj:
    """Status for a spec that cannot be served: Ready=False with the reason and message."""
    predictor = _cond(PREDICTOR_READY, "False", err.reason, err.message)
    ingress_cond = _cond(INGRESS_READY, "False", err.reason, err.message)
    return {
        "observedGeneration": isvc.generation,
        "deploymentMode": "Standard",
        "conditions": _with_ready([ingress_cond, predictor], previous=isvc.status, now=now),
        "modelStatus": {
            "transitionStatus": "InvalidSpec",
            "states": {"activeModelState": "Pending", "targetModelState": "FailedToLoad"},
            "lastFailureInfo": {"reason": _failure_reason(err.reason), "message": err.message},
        },
    }


def _failure_reason(reason: str) -> str:
    # The CRD's enum for lastFailureInfo.reason; our finer reasons stay in the conditions.
    return reason if reason in get_args(FailureReason) else "InvalidPredictorSpec"


def condition(status: Obj, kind: str) -> Obj | None:
    return next((c for c in status.get("conditions") or [] if c.get("type") == kind), None)


def is_ready(status: Obj) -> bool:
    ready = condition(status, READY)
    return ready is not None and ready.get("status") == "True"


def not_ready_reasons(status: Obj) -> list[str]:
    return [
        str(c["type"])
        for c in status.get("conditions") or []
        if c.get("type") != READY and c.get("status") != "True"
    ]


_cond = conditions.condition
_available = conditions.available


def _with_ready(
    conds: list[Obj], *, previous: Obj, now: str, info: list[Obj] | None = None
) -> list[Obj]:
    states = [c["status"] for c in conds]
    if all(s == "True" for s in states):
        # Scaled to zero is Ready, and says so where users look first.
        zero = next((c for c in conds if c.get("reason") == scaler_status.SCALED_TO_ZERO), None)
        ready = _cond(READY, "True", *((zero["reason"], zero["message"]) if zero else ()))
    elif "False" in states:
        first = next(c for c in conds if c["status"] == "False")
        ready = _cond(READY, "False", first.get("reason", ""), first.get("message", ""))
    else:
        first = next(c for c in conds if c["status"] != "True")
        ready = _cond(READY, "Unknown", first.get("reason", ""), first.get("message", ""))
    out = []
    for cond in sorted([*conds, ready, *(info or [])], key=lambda c: str(c["type"])):
        old = condition(previous, cond["type"])
        same = old is not None and old.get("status") == cond["status"]
        stamp = old.get("lastTransitionTime") if same and old else None
        out.append({**cond, "lastTransitionTime": stamp or now})
    return out


def _deployment_condition(
    kind: str, deployment: Obj | None, model_status: Obj, *, pods: list[Obj] | None = None
) -> Obj:
    failure: Obj = model_status.get("lastFailureInfo") or {}
    blocked = bool(failure) and model_status.get("transitionStatus") == "BlockedByFailedLoad"
    return conditions.from_deployment(
        kind,
        deployment,
        load_failure=str(failure.get("message", "")) if blocked else None,
        stranded=pod_readiness.stranded(pods or []),
    )


def _model_status(pods: list[Obj], *, deployment_available: bool) -> Obj:
    if not pods:
        return _states("Pending", "Pending", "InProgress")
    newest = sorted(
        pods,
        key=lambda p: (p["metadata"].get("creationTimestamp") or "", p["metadata"]["name"]),
        reverse=True,
    )[0]
    pod_status = newest.get("status") or {}
    copies = {
        "failedCopies": 0,
        "totalCopies": sum(1 for p in pods if _running_ready(p)),
    }
    init = pod_failure.named(pod_status.get("initContainerStatuses"), storage_initializer.NAME)
    failure = pod_failure.failure(newest, storage_initializer.NAME, init=True)
    if init is not None and failure is None and "running" in (init.get("state") or {}):
        return {**_states("Pending", "Loading", "InProgress"), "copies": copies}
    if failure is None and deployment_available and _running_ready(newest):
        return {**_states("Loaded", "Loaded", "UpToDate"), "copies": copies}
    if failure is None:
        failure = pod_failure.failure(newest, MAIN_CONTAINER)
    if failure is not None:
        active = "Loaded" if deployment_available else "Pending"
        return {
            **_states(active, "FailedToLoad", "BlockedByFailedLoad"),
            "lastFailureInfo": failure,
            "copies": {**copies, "failedCopies": 1},
        }
    return {**_states("Pending", "Pending", "InProgress"), "copies": copies}


def _states(active: str, target: str, transition: str) -> Obj:
    return {
        "transitionStatus": transition,
        "states": {"activeModelState": active, "targetModelState": target},
    }


def _running_ready(pod: Obj) -> bool:
    status = pod.get("status") or {}
    conds = status.get("conditions") or []
    return status.get("phase") == "Running" and any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in conds
    )
