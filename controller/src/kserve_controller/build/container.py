"""The predictor's containers: the runtime's `kserve-container` merged with the model's fields.

The InferenceService wins on every field; `args` are the runtime's followed by the model's,
`env`, `ports` and `volumeMounts` merge by key, dicts merge recursively (as a strategic
merge patch does). Placeholders such as `{{.Name}}` are rendered afterwards.
"""

from __future__ import annotations

import copy
from typing import Any

from kserve_controller.build import names, template, workload
from kserve_controller.config import ResourceDefaults
from kserve_controller.errors import InvalidSpec
from kserve_controller.runtimes import Runtime
from kserve_controller.spec import Component

Obj = dict[str, Any]

MAIN = "kserve-container"
PROBES = ("readinessProbe", "livenessProbe", "startupProbe")
PROBE_HANDLERS = ("httpGet", "tcpSocket", "grpc")
# List fields merged by key instead of replaced (a strategic merge patch's merge keys).
MERGE_KEYS = {"env": "name", "ports": "containerPort", "volumeMounts": "mountPath"}


def predictor_containers(
    part: Component, *, runtime: Runtime | None, defaults: ResourceDefaults | None = None
) -> list[Obj]:
    """Main container first, then the runtime's other containers, then the user's extras.

    `defaults`: resources for a custom main container that sets none (upstream's defaulter).
    """
    if part.model is None or runtime is None:
        return _custom(part, defaults=defaults)
    runtime_containers = runtime.spec.get("containers") or []
    if not runtime_containers:
        raise InvalidSpec(
            "InvalidPredictorSpec", f"serving runtime {runtime.name} has no containers"
        )
    base = next((c for c in runtime_containers if c.get("name") == MAIN), None)
    if base is None:
        raise InvalidSpec(
            "InvalidPredictorSpec", f"serving runtime {runtime.name} has no container named {MAIN}"
        )
    main = merge(base, part.model.container)
    main["name"] = MAIN
    if part.model.runtime_version and main.get("image"):
        main["image"] = with_tag(str(main["image"]), part.model.runtime_version)
    main = template.render(main, data=_template_data(part))
    # Runtime images run as non-root by contract; say so when neither side chose.
    main.setdefault("securityContext", copy.deepcopy(workload.NON_ROOT))
    main["env"] = merge_list(
        main.get("env") or [], [{"name": "INFERENCE_SERVICE_NAME", "value": part.name}], "name"
    )
    _default_probe(main)
    others = [copy.deepcopy(c) for c in runtime_containers if c.get("name") != MAIN]
    extras = [copy.deepcopy(c) for c in part.spec.containers or []]
    return [main, *template.render(others, data=_template_data(part)), *extras]


def _custom(part: Component, *, defaults: ResourceDefaults | None) -> list[Obj]:
    containers = [copy.deepcopy(c) for c in part.spec.containers or []]
    main = next((c for c in containers if c.get("name") == MAIN), None)
    if main is None:
        main = containers[0]
        if len(containers) == 1 or not main.get("name"):
            main["name"] = MAIN
    if defaults is not None:
        main["resources"] = default_resources(main.get("resources") or {}, defaults)
    if part.kind == "transformer":
        main["args"] = [*(main.get("args") or []), *transformer_args(part, main.get("args") or [])]
    if part.storage_uri and not part.storage_uri.startswith("pvc://"):
        # The initializer downloads to /mnt/models; the server reads it from there.
        for env in main.get("env") or []:
            if env.get("name") == "STORAGE_URI":
                env["value"] = "/mnt/models"
    _default_probe(main)
    return containers


def transformer_args(part: Component, args: list[str]) -> list[str]:
    """What upstream adds to a custom transformer's args, each flag only when absent."""
    wanted = [
        ("--model_name", part.name),
        ("--predictor_host", f"{names.predictor(part)}.{part.namespace}"),
        ("--http_port", str(workload.DEFAULT_PORT)),
    ]
    workers = part.spec.container_concurrency
    if workers is not None:
        wanted.append(("--workers", str(workers)))
    # `--flag value` and `--flag=value` both count as present.
    return [
        item
        for flag, value in wanted
        if not any(a == flag or a.startswith(f"{flag}=") for a in args)
        for item in (flag, value)
    ]


def default_resources(resources: Obj, defaults: ResourceDefaults) -> Obj:
    """`resources` with the configured request and limit for each of cpu and memory the
    container leaves open. A resource with only a request or only a limit is left alone,
    so a default never makes a request exceed its limit."""
    out = copy.deepcopy(resources)
    table = {
        "cpu": (defaults.cpu_request, defaults.cpu_limit),
        "memory": (defaults.memory_request, defaults.memory_limit),
    }
    for name, (request, limit) in table.items():
        if name in (out.get("requests") or {}) or name in (out.get("limits") or {}):
            continue
        if request:
            out.setdefault("requests", {})[name] = request
        if limit:
            out.setdefault("limits", {})[name] = limit
    return out


def merge(base: Obj, override: Obj) -> Obj:
    """`override` merged onto `base` (neither is changed)."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if key == "args":
            out["args"] = [*(out.get("args") or []), *value]
        elif key in MERGE_KEYS and isinstance(value, list):
            out[key] = merge_list(out.get(key) or [], value, MERGE_KEYS[key])
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def merge_list(base: list[Obj], override: list[Obj], key: str) -> list[Obj]:
    """Items of `override` replace same-key items of `base` in place; new ones go last."""
    out = [copy.deepcopy(item) for item in base]
    index = {item.get(key): i for i, item in enumerate(out)}
    for item in override:
        if item.get(key) in index:
            out[index[item.get(key)]] = copy.deepcopy(item)
        else:
            index[item.get(key)] = len(out)
            out.append(copy.deepcopy(item))
    return out


def with_tag(image: str, tag: str) -> str:
    """`image` with its tag replaced; digests are left alone."""
    if "@" in image:
        return image
    repo, sep, last = image.rpartition(":")
    if sep and "/" not in last:
        return f"{repo}:{tag}"
    return f"{image}:{tag}"


def main_port(container: Obj) -> int:
    ports = container.get("ports") or []
    return int(ports[0]["containerPort"]) if ports else workload.DEFAULT_PORT


def _default_probe(container: Obj) -> None:
    # Upstream's default: a TCP probe on the first port; no liveness probe.
    if "readinessProbe" not in container:
        container["readinessProbe"] = {
            "tcpSocket": {"port": main_port(container)},
            "timeoutSeconds": 1,
            "periodSeconds": 10,
            "successThreshold": 1,
            "failureThreshold": 3,
        }
    # A probe without a port is the server's port (Knative fills it in upstream); the
    # apiserver refuses a Deployment whose probe has none.
    for probe in PROBES:
        for handler in PROBE_HANDLERS:
            action = (container.get(probe) or {}).get(handler)
            if isinstance(action, dict) and not action.get("port"):
                action["port"] = main_port(container)


def _template_data(part: Component) -> dict[str, Any]:
    annotations = dict(part.annotations)
    if part.model is not None:
        annotations.setdefault("modelFormat", part.model.format)
    return {
        "Name": part.name,
        "Namespace": part.namespace,
        "Labels": part.labels,
        "Annotations": annotations,
    }
