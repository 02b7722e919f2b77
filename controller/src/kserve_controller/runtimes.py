"""Pick the ServingRuntime or ClusterServingRuntime that serves a model (pure).

Rules as upstream: an explicit `model.runtime` is looked up (namespace first); otherwise
every enabled, single-model runtime whose auto-selectable formats contain the model's
format (and version, when given) and whose protocols contain the model's protocol is a
candidate; a namespace ServingRuntime always beats a ClusterServingRuntime; within a kind
the higher format priority wins, then the lower protocol, then the newest, then the name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kserve_controller.errors import InvalidSpec
from kserve_controller.spec import Model

Obj = dict[str, Any]

NAMESPACED = "ServingRuntime"
CLUSTER = "ClusterServingRuntime"
PROTOCOL_ORDER = {"v1": 1, "v2": 2, "grpc-v1": 3, "grpc-v2": 4}
# A runtime's annotation saying its kserve-container takes the agent's logger and batcher flags
# itself (our model server does): the chart sets it on our runtimes. An image name could not
# say it: images are renamed by registry mirrors, tags and digests, and a runtime may run our
# image under any name; the annotation is a promise the runtime's author makes.
AGENT_ANNOTATION = "kserve-py.io/agent"
IN_PROCESS = "in-process"


@dataclass(frozen=True)
class Runtime:
    name: str
    kind: str  # ServingRuntime | ClusterServingRuntime
    spec: Obj
    annotations: dict[str, str] = field(default_factory=dict)  # the runtime's metadata

    @property
    def agent_in_process(self) -> bool:
        """Does the runtime's server log and batch itself, given the agent's flags?"""
        return self.annotations.get(AGENT_ANNOTATION) == IN_PROCESS

    @property
    def protocol(self) -> str | None:
        """The runtime's preferred protocol, used when the model names none."""
        versions = self.spec.get("protocolVersions") or []
        known = sorted((PROTOCOL_ORDER[v], v) for v in versions if v in PROTOCOL_ORDER)
        return known[0][1] if known else None


def select(model: Model, *, namespaced: list[Obj], cluster: list[Obj]) -> Runtime:
    """The runtime for `model`, or InvalidSpec saying why there is none."""
    if model.runtime:
        return _explicit(model, namespaced=namespaced, cluster=cluster)
    for kind, items in ((NAMESPACED, namespaced), (CLUSTER, cluster)):
        candidates = [r for r in _ordered(items) if _supports(r, model, explicit=False)]
        if candidates:
            best = _by_priority(candidates, model.format)[0]
            return _runtime(best, kind=kind)
    wanted = f"{model.format}" + (f" version {model.version}" if model.version else "")
    raise InvalidSpec(
        "NoSupportingRuntime",
        f"no runtime found to support model format {wanted} with protocol "
        f"{model.protocol or 'v1'}; {_served(namespaced + cluster)}; "
        "or name one in spec.predictor.model.runtime",
    )


def _served(items: list[Obj]) -> str:
    """What the enabled runtimes auto-select: `onnx [v1, v2, grpc-v2], sklearn [v1, v2]`."""
    served: dict[str, set[str]] = {}
    for runtime in items:
        spec = runtime.get("spec") or {}
        if spec.get("disabled") or spec.get("multiModel") or spec.get("workerSpec"):
            continue
        protocols = spec.get("protocolVersions") or ["v1"]
        for fmt in spec.get("supportedModelFormats") or []:
            if fmt.get("autoSelect") and fmt.get("name"):
                served.setdefault(str(fmt["name"]), set()).update(protocols)
    if not served:
        return "no ServingRuntime or ClusterServingRuntime is installed (the kserve chart has them)"
    listing = ", ".join(
        f"{name} [{', '.join(sorted(p, key=lambda v: PROTOCOL_ORDER.get(v, 9)))}]"
        for name, p in sorted(served.items())
    )
    return f"the installed runtimes serve {listing}"


def _explicit(model: Model, *, namespaced: list[Obj], cluster: list[Obj]) -> Runtime:
    for kind, items in ((NAMESPACED, namespaced), (CLUSTER, cluster)):
        found = next((r for r in items if r["metadata"]["name"] == model.runtime), None)
        if found is None:
            continue
        spec = found.get("spec") or {}
        if spec.get("disabled"):
            raise InvalidSpec("RuntimeDisabled", f"runtime {model.runtime} is disabled")
        if not _protocol_ok(spec, model):
            raise InvalidSpec(
                "NoSupportingRuntime",
                f"runtime {model.runtime} does not support protocol {model.protocol or 'v1'}",
            )
        if not _format_ok(spec, model, explicit=True):
            raise InvalidSpec(
                "NoSupportingRuntime",
                f"runtime {model.runtime} does not support model format {model.format}"
                + (f" version {model.version}" if model.version else ""),
            )
        return _runtime(found, kind=kind)
    raise InvalidSpec(
        "RuntimeNotRecognized",
        f"no ServingRuntime or ClusterServingRuntime named {model.runtime}",
    )


def _runtime(obj: Obj, *, kind: str) -> Runtime:
    meta = obj["metadata"]
    return Runtime(
        name=str(meta["name"]),
        kind=kind,
        spec=obj.get("spec") or {},
        annotations=dict(meta.get("annotations") or {}),
    )


def _supports(runtime: Obj, model: Model, *, explicit: bool) -> bool:
    spec = runtime.get("spec") or {}
    return (
        not spec.get("disabled")
        and not spec.get("multiModel")
        and not spec.get("workerSpec")
        and _format_ok(spec, model, explicit=explicit)
        and _protocol_ok(spec, model)
    )


def _format_ok(spec: Obj, model: Model, *, explicit: bool) -> bool:
    labels: set[str] = set()
    for fmt in spec.get("supportedModelFormats") or []:
        if explicit or fmt.get("autoSelect"):
            labels.add(f"mt:{fmt.get('name')}")
            if fmt.get("version"):
                labels.add(f"mt:{fmt.get('name')}:{fmt.get('version')}")
    wanted = f"mt:{model.format}" + (f":{model.version}" if model.version else "")
    return wanted in labels


def _protocol_ok(spec: Obj, model: Model) -> bool:
    versions = spec.get("protocolVersions") or []
    return not versions or (model.protocol or "v1") in versions


def _ordered(items: list[Obj]) -> list[Obj]:
    def protocol_rank(runtime: Obj) -> int:
        versions = (runtime.get("spec") or {}).get("protocolVersions") or []
        return min((PROTOCOL_ORDER.get(v, 5) for v in versions), default=5)

    # name ascending, then newest first, then protocol: three stable sorts, last key first.
    by_name = sorted(items, key=lambda r: r["metadata"]["name"])
    by_age = sorted(
        by_name, key=lambda r: r["metadata"].get("creationTimestamp") or "", reverse=True
    )
    return sorted(by_age, key=protocol_rank)


def _by_priority(items: list[Obj], fmt: str) -> list[Obj]:
    def priority(runtime: Obj) -> int:
        for entry in (runtime.get("spec") or {}).get("supportedModelFormats") or []:
            if entry.get("name") == fmt:
                value = entry.get("priority")
                return int(value) if value is not None else 0
        return 0

    return sorted(items, key=priority, reverse=True)
