"""How far the traffic path is, as conditions (pure).

Gateway API mode: `IngressReady` from the HTTPRoutes' status, as upstream's raw mode reads it:
each route (components first, the top-level one last) must exist and its parent status for
our Gateway must say Accepted and ResolvedRefs True; the first that does not names why. A
missing Gateway API CRD or Gateway is said by name.

Ingress mode: `IngressReady` keeps upstream's meaning (the Ingress exists, status.py), so Ready
never waits on a gateway a cluster may not have; whether an ingress controller admitted the
Ingress (it wrote a load-balancer address) shows in `IngressAdmitted`, severity Info: it does
not gate Ready.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kserve_controller import conditions
from kserve_controller.build import httproute

Obj = dict[str, Any]

INGRESS_READY = "IngressReady"
INGRESS_ADMITTED = "IngressAdmitted"
NOT_INSTALLED = "GatewayAPINotInstalled"
GATEWAY_NOT_FOUND = "GatewayNotFound"
NO_PARENT_STATUS = "ParentStatusNotAvailable"
REQUIRED = ("Accepted", "ResolvedRefs")


def not_installed(missing: list[str]) -> Obj:
    crds = ", ".join(missing)
    return conditions.condition(
        INGRESS_READY,
        "False",
        NOT_INSTALLED,
        f"ingress.enableGatewayApi is set but the Gateway API CRD {crds} is not installed: "
        "install the Gateway API CRDs (standard channel), or set enableGatewayApi to false",
    )


def from_routes(
    routes: list[tuple[str, str]],
    observed: Mapping[str, Obj | None],
    *,
    gateway: tuple[str, str],
    gateway_found: bool | None,
) -> Obj:
    """IngressReady from the routes `(component, name)` (component "" = the top-level one).

    `gateway_found`: whether the Gateway exists (None: not looked at).
    """
    gateway_name = "/".join(gateway)
    for part, name in routes:
        who = part.capitalize() if part else "InferenceService"
        route = observed.get(name)
        if route is None:
            # Held until the component is ready (upstream's reason), or not applied yet.
            reason, message = f"{who} ingress not created", f"HTTPRoute {name} not created"
            return conditions.condition(INGRESS_READY, "False", reason, message)
        if gateway_found is False:
            return conditions.condition(
                INGRESS_READY,
                "False",
                GATEWAY_NOT_FOUND,
                f"Gateway {gateway_name} not found: the HTTPRoutes attach to it "
                "(ingress.kserveIngressGateway); create it or name another",
            )
        problem = _route_problem(route, gateway=gateway)
        if problem is not None:
            reason, message = problem
            return conditions.condition(INGRESS_READY, "False", reason, f"{who} {message}")
    return conditions.condition(INGRESS_READY, "True")


def _route_problem(route: Obj, *, gateway: tuple[str, str]) -> tuple[str, str] | None:
    name = route["metadata"]["name"]
    generation = route["metadata"].get("generation")
    parents = (route.get("status") or {}).get("parents") or []
    ours = next((p for p in parents if _is_gateway(p.get("parentRef") or {}, gateway, route)), None)
    if ours is None:
        return NO_PARENT_STATUS, f"HTTPRoute {name}: no status from Gateway {'/'.join(gateway)} yet"
    conds = {c.get("type"): c for c in ours.get("conditions") or []}
    for kind in REQUIRED:
        cond = conds.get(kind)
        if cond is None or _stale(cond, generation):
            return NO_PARENT_STATUS, f"HTTPRoute {name}: the gateway has not reported {kind} yet"
        if cond.get("status") != "True":
            reason = str(cond.get("reason") or f"Not{kind}")
            return reason, f"HTTPRoute {name}: {cond.get('message') or f'{kind} is False'}"
    return None


def _is_gateway(ref: Obj, gateway: tuple[str, str], route: Obj) -> bool:
    namespace = ref.get("namespace") or route["metadata"].get("namespace")
    kind = ref.get("kind") or "Gateway"
    group = ref.get("group") or httproute.GROUP
    return (group, kind, namespace, ref.get("name")) == (httproute.GROUP, "Gateway", *gateway)


def _stale(cond: Obj, generation: Any) -> bool:
    seen = cond.get("observedGeneration")
    return isinstance(seen, int) and isinstance(generation, int) and seen < generation


def admitted(ingress_obj: Obj | None, *, class_name: str | None) -> Obj | None:
    """IngressAdmitted for an existing Ingress; None when there is none."""
    if ingress_obj is None:
        return None
    lb = ((ingress_obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    addresses = [str(a.get("ip") or a.get("hostname") or "") for a in lb]
    addresses = [a for a in addresses if a]
    if addresses:
        return conditions.info(
            INGRESS_ADMITTED, "True", "LoadBalancerAddress", ", ".join(addresses)
        )
    name = ingress_obj["metadata"]["name"]
    which = f"class {class_name}" if class_name else "the default class"
    return conditions.info(
        INGRESS_ADMITTED,
        "Unknown",
        "NoLoadBalancerAddress",
        f"no ingress controller ({which}) has admitted Ingress {name} yet: it has no "
        "load-balancer address",
    )


def backends(route: Obj) -> list[Obj]:
    """Every backendRef of every rule of a route."""
    rules = (route.get("spec") or {}).get("rules") or []
    return [b for rule in rules for b in rule.get("backendRefs") or []]


def acknowledged(route: Obj, *, gateway: tuple[str, str]) -> bool:
    """Has the gateway reported on the route's current spec? True when no gateway reports at
    all (nothing to wait for)."""
    parents = (route.get("status") or {}).get("parents") or []
    ours = next((p for p in parents if _is_gateway(p.get("parentRef") or {}, gateway, route)), None)
    if ours is None:
        return True
    generation = route["metadata"].get("generation")
    return not any(_stale(c, generation) for c in ours.get("conditions") or [])
