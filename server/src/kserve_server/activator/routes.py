"""Which component a request is for, from its Host header (pure).

The controller writes one `<workload>-activator` Service per component it fronts (see
kserve_controller/build/activator.py, whose names these are): the label marks it, the
annotations name the component's own Service and the external hosts routed to it. A Service's
cluster names (`<name>`, `<name>.<ns>`, `<name>.<ns>.svc[.<domain>]`) route too, so callers in
the cluster wake the component by calling the `-activator` Service.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

LABEL = "internal.serving.kserve.io/activator"
TARGET_ANNOTATION = "internal.serving.kserve.io/activator-target"
HOSTS_ANNOTATION = "internal.serving.kserve.io/activator-hosts"
SELECTOR = f"{LABEL}=true"
TARGET_PORT = 80


@dataclass(frozen=True)
class Route:
    """One component behind the activator: `namespace`/`service` (its own Service) and the
    URL requests are forwarded to."""

    namespace: str
    service: str
    upstream: str  # http://host:port, no trailing slash

    @property
    def key(self) -> tuple[str, str]:
        return (self.namespace, self.service)


def route_of(obj: Mapping[str, Any], *, cluster_domain: str) -> tuple[Route, list[str]] | None:
    """A labelled Service → its Route and every host it answers; None if it names no target."""
    meta = obj.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    target = str(annotations.get(TARGET_ANNOTATION) or "").strip()
    namespace, name = str(meta.get("namespace") or ""), str(meta.get("name") or "")
    if not target or not namespace or not name:
        return None
    upstream = f"http://{target}.{namespace}.svc.{cluster_domain}:{TARGET_PORT}"
    hosts = [h.strip() for h in str(annotations.get(HOSTS_ANNOTATION) or "").split(",")]
    own = [name, f"{name}.{namespace}", f"{name}.{namespace}.svc"]
    own.append(f"{name}.{namespace}.svc.{cluster_domain}")
    every = [normal(h) for h in [*hosts, *own] if h]
    return Route(namespace=namespace, service=target, upstream=upstream), every


def normal(host: str) -> str:
    """A Host header as a table key: lower case, without the port or a trailing dot."""
    host = host.strip().lower()
    if host.startswith("["):  # an IPv6 literal keeps its colons
        return host.split("]")[0] + "]"
    return host.rsplit(":", 1)[0].rstrip(".") if ":" in host else host.rstrip(".")


class Table:
    """Host → Route, rebuilt from the Services and kept current by their watch events."""

    def __init__(self, *, cluster_domain: str = "cluster.local") -> None:
        self.cluster_domain = cluster_domain
        self._by_host: dict[str, Route] = {}
        self._by_object: dict[tuple[str, str], list[str]] = {}  # (ns, Service name) → hosts

    def __len__(self) -> int:
        return len(self._by_object)

    def lookup(self, host: str) -> Route | None:
        return self._by_host.get(normal(host))

    def replace(self, objects: Iterable[Mapping[str, Any]]) -> None:
        self._by_host.clear()
        self._by_object.clear()
        for obj in objects:
            self.put(obj)

    def put(self, obj: Mapping[str, Any]) -> None:
        self.remove(obj)
        found = route_of(obj, cluster_domain=self.cluster_domain)
        if found is None:
            return
        route, hosts = found
        self.add(_ref(obj), route, hosts)

    def add(self, ref: tuple[str, str], route: Route, hosts: list[str]) -> None:
        """`hosts` to `route`, remembered as the Service `ref` (namespace, name)'s."""
        self._by_object[ref] = [normal(h) for h in hosts]
        for host in self._by_object[ref]:
            self._by_host[host] = route

    def remove(self, obj: Mapping[str, Any]) -> None:
        for host in self._by_object.pop(_ref(obj), []):
            self._by_host.pop(host, None)


def _ref(obj: Mapping[str, Any]) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return (str(meta.get("namespace") or ""), str(meta.get("name") or ""))
