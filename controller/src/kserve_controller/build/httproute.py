"""Gateway API HTTPRoutes of an InferenceService (`ingress.enableGatewayApi`), as upstream's
raw mode makes them: one per component (`<isvc>-predictor`, `<isvc>-transformer`,
`<isvc>-explainer`) on the component's host, and the top-level `<isvc>` on the
InferenceService's host, all attached to the `kserveIngressGateway`.

The predictor route keeps its name when `predictor.name` changes (a canary promotion renames
the predictor, not its route); its backend is the named predictor's Service. Canary weights
(build/canary.py) apply to the rules whose backend is the stable predictor.

Where we differ from upstream, on purpose:
- the catch-all match is `PathPrefix /` (Gateway API core) instead of the regular expression
  `^/.*$` (implementation-specific support; same requests);
- with `pathTemplate`, the path rule strips the prefix (URLRewrite ReplacePrefixMatch "/"),
  so the model server receives `/v1/models/<name>:predict` as with upstream's Istio path
  routing; upstream's raw HTTPRoute forwards `/serving/<ns>/<name>/v1/...` unchanged, which
  its model server answers with 404. No path rule for `:explain` (a prefix rewrite needs a
  PathPrefix match, which cannot end in `:explain`): the explainer is reached by host.
- no gRPC rule detected from the Service's ports: every rule targets the HTTP port 80.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kserve_controller.build import ingress, names, template, workload
from kserve_controller.config import ControllerConfig
from kserve_controller.errors import InvalidSpec
from kserve_controller.spec import Isvc

Obj = dict[str, Any]

GROUP = "gateway.networking.k8s.io"
API_VERSION = f"{GROUP}/v1"
KIND = "HTTPRoute"
CRD = f"httproutes.{GROUP}"
GATEWAY_CRD = f"gateways.{GROUP}"
NAME_HEADER = "KServe-Isvc-Name"
NAMESPACE_HEADER = "KServe-Isvc-Namespace"
DEFAULT_TIMEOUT_SECONDS = 60
EXPLAIN_PATH = r"^/v1/models/[\w-]+:explain$"
COMPONENTS = ("predictor", "transformer", "explainer")


def wanted(isvc: Isvc, config: ControllerConfig) -> bool:
    """HTTPRoutes instead of an Ingress: Gateway API mode, and an ingress is wanted at all."""
    return config.ingress.enable_gateway_api and ingress.wanted(isvc, config)


def route_name(isvc: Isvc, part: str) -> str:
    """`<isvc>-predictor` (whatever predictor.name is), `<isvc>-transformer`, `<isvc>-explainer`;
    "" is the top-level route, `<isvc>`."""
    return f"{isvc.name}-{part}" if part else isvc.name


def names_of(isvc: Isvc) -> list[tuple[str, str]]:
    """(component, route name) of every route, components first, the top-level one ("") last."""
    parts = ["predictor", *(p for p in COMPONENTS[1:] if p in isvc.extras)]
    return [(p, route_name(isvc, p)) for p in [*parts, ""]]


def every_name(isvc: Isvc) -> list[str]:
    """The names of every route an InferenceService may have had, for the unwanted list."""
    return [route_name(isvc, p) for p in [*COMPONENTS, ""]]


def parent_ref(config: ControllerConfig) -> Obj:
    namespace, name = config.ingress.gateway
    return {"group": GROUP, "kind": "Gateway", "namespace": namespace, "name": name}


def url_path(isvc: Isvc, config: ControllerConfig) -> str:
    """`pathTemplate` rendered for the InferenceService, without a trailing "/"; "" when unset."""
    tpl = config.ingress.path_template
    if not tpl:
        return ""
    data = {"Name": isvc.name, "Namespace": isvc.namespace}
    path = str(template.render(tpl, data=data)).rstrip("/")
    if not path.startswith("/") or "://" in path or "?" in path or "#" in path:
        raise InvalidSpec(
            "InvalidIngressConfig",
            f"ingress.pathTemplate renders {path!r} for {isvc.name}: not an absolute URL path",
        )
    return path


def build_all(
    isvc: Isvc, *, config: ControllerConfig, weights: Mapping[str, int] | None = None
) -> list[Obj]:
    """Every route, in `names_of` order. `weights`: Service name → percent for the predictor's
    backends (build/canary.py); None sends everything to the predictor."""
    return [build(isvc, part=part, config=config, weights=weights) for part, _ in names_of(isvc)]


def build(
    isvc: Isvc, *, part: str, config: ControllerConfig, weights: Mapping[str, int] | None = None
) -> Obj:
    """The route of one component, or the top-level route (`part` "")."""
    predictor = names.predictor(isvc)
    split = dict(weights) if weights else {predictor: 100}
    if part:
        service = names.component(isvc, part)
        hosts = [ingress.host(isvc, name=route_name(isvc, part), ingress=config.ingress)]
        rules = [_rule(isvc, config, _prefix("/"), _backends(service, predictor, split), part)]
        return _route(isvc, config, name=route_name(isvc, part), hosts=hosts, rules=rules)
    entry = ingress.entry(isvc)
    entry_part = "transformer" if "transformer" in isvc.extras else "predictor"
    hosts = [ingress.host(isvc, name=isvc.name, ingress=config.ingress)]
    rules = []
    if "explainer" in isvc.extras:
        explainer = names.component(isvc, "explainer")
        match = {"path": {"type": "RegularExpression", "value": EXPLAIN_PATH}}
        rules.append(_rule(isvc, config, match, [_backend(explainer)], "explainer"))
    backends = _backends(entry, predictor, split)
    rules.append(_rule(isvc, config, _prefix("/"), backends, entry_part))
    path = url_path(isvc, config)
    if path:
        hosts.append(config.ingress.ingress_domain)
        rewrite = {
            "type": "URLRewrite",
            "urlRewrite": {"path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/"}},
        }
        rules.append(_rule(isvc, config, _prefix(path), backends, entry_part, extra=[rewrite]))
    return _route(isvc, config, name=isvc.name, hosts=hosts, rules=rules)


def _prefix(path: str) -> Obj:
    return {"path": {"type": "PathPrefix", "value": path}}


def _backend(service: str, weight: int | None = None) -> Obj:
    ref: Obj = {"group": "", "kind": "Service", "name": service, "port": workload.SERVICE_PORT}
    if weight is not None:
        ref["weight"] = weight
    return ref


def _backends(service: str, predictor: str, split: Mapping[str, int]) -> list[Obj]:
    """The backend of a rule: weighted when it is the predictor's and traffic is split."""
    if service != predictor or list(split) == [predictor]:
        return [_backend(service)]
    return [_backend(name, weight) for name, weight in split.items()]


def _rule(
    isvc: Isvc,
    config: ControllerConfig,
    match: Obj,
    backends: list[Obj],
    part: str,
    *,
    extra: list[Obj] | None = None,
) -> Obj:
    headers = [
        {"name": NAME_HEADER, "value": isvc.name},
        {"name": NAMESPACE_HEADER, "value": isvc.namespace},
    ]
    filters = [
        {"type": "RequestHeaderModifier", "requestHeaderModifier": {"set": headers}},
        *(extra or []),
    ]
    rule: Obj = {"matches": [match], "filters": filters, "backendRefs": backends}
    if not config.ingress.disable_http_route_timeout:
        component = next(p for p in isvc.parts if p.kind == part)
        seconds = component.spec.timeout or DEFAULT_TIMEOUT_SECONDS
        rule["timeouts"] = {"request": f"{seconds}s"}
    return rule


def _route(
    isvc: Isvc, config: ControllerConfig, *, name: str, hosts: list[str], rules: list[Obj]
) -> Obj:
    disallowed = config.inference_service
    labels = {
        k: v for k, v in isvc.labels.items() if k not in disallowed.service_label_disallowed_list
    }
    drop = names.DISALLOWED_ANNOTATIONS | set(disallowed.service_annotation_disallowed_list)
    annotations = {k: v for k, v in isvc.annotations.items() if k not in drop}
    meta = names.metadata(
        isvc,
        name=name,
        labels={**labels, names.ISVC_LABEL: isvc.name},
        annotations=annotations,
    )
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": meta,
        "spec": {"parentRefs": [parent_ref(config)], "hostnames": hosts, "rules": rules},
    }
