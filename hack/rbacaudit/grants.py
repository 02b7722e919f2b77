"""The chart's rendered manifests → the permissions its controller ServiceAccount holds (pure).

A permission is (API group, resource[/subresource], verb), as the audit log names a request.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]
CONTROLLER_SA = "kserve-controller-manager"


@dataclass(frozen=True, order=True)
class Permission:
    group: str  # "" for the core group
    resource: str  # "pods", "inferenceservices/status"
    verb: str

    def covers(self, other: Permission) -> bool:
        """Does this grant (which may say "*") allow `other`?"""
        pairs = (
            (self.group, other.group),
            (self.resource, other.resource),
            (self.verb, other.verb),
        )
        return all(mine in ("*", theirs) for mine, theirs in pairs)

    def shown(self) -> str:
        return f"{self.group or 'core'} {self.resource} {self.verb}"


# Grants no request shows, with the path that needs them. KEDA mode is measured: the apiserver
# suite runs the keda class with KEDA's CRDs installed (test_controller_keda.py).
RARE: dict[Permission, str] = {
    Permission("serving.kserve.io", "inferenceservices/finalizers", "update"): (
        "no request uses it: the OwnerReferencesPermissionEnforcement admission plugin "
        "(OpenShift, hardened clusters) checks it when the controller creates a Deployment, "
        "Service, HPA or Ingress whose owner reference sets blockOwnerDeletion"
    ),
    Permission("serving.kserve.io", "inferencegraphs/finalizers", "update"): (
        "as inferenceservices/finalizers, for the router's Deployment and Service of a graph"
    ),
}


PRE_SYNC_GET = (
    "a read before its watch has synced (start-up, a relist after 410 Gone) is a GET to the "
    "API server; list, also granted and used, already shows more"
)


def rare_path(perm: Permission, granted: set[Permission]) -> str | None:
    """Why `perm` is granted though no request used it, or None."""
    if perm in RARE:
        return RARE[perm]
    if perm.verb == "get" and Permission(perm.group, perm.resource, "list") in granted:
        return PRE_SYNC_GET
    return None


def user(namespace: str, name: str = CONTROLLER_SA) -> str:
    return f"system:serviceaccount:{namespace}:{name}"


def controller_permissions(manifests: Iterable[Obj], *, namespace: str) -> set[Permission]:
    """Every permission the roles bound to the controller's ServiceAccount grant."""
    return set(granted_by(manifests, namespace=namespace))


def granted_by(manifests: Iterable[Obj], *, namespace: str) -> dict[Permission, list[str]]:
    """Each permission the controller's ServiceAccount holds → the roles that grant it
    ("ClusterRole kserve-manager-role"), so a failure can say where to remove it."""
    docs = [m for m in manifests if isinstance(m, dict)]
    roles = {
        (m["kind"], m["metadata"]["name"]): m
        for m in docs
        if m.get("kind") in ("ClusterRole", "Role")
    }
    granted: dict[Permission, list[str]] = {}
    for binding in docs:
        if binding.get("kind") not in ("ClusterRoleBinding", "RoleBinding"):
            continue
        if not any(_is_controller(s, namespace=namespace) for s in binding.get("subjects") or []):
            continue
        ref = binding["roleRef"]
        role = roles.get((ref["kind"], ref["name"]))
        if role is None:
            raise ValueError(
                f"{binding['kind']} {binding['metadata']['name']} names a missing "
                f"{ref['kind']} {ref['name']}"
            )
        origin = f"{ref['kind']} {ref['name']}"
        for rule in role.get("rules") or []:
            for perm in (
                Permission(group, resource, verb)
                for group in rule.get("apiGroups") or [""]
                for resource in rule.get("resources") or []
                for verb in rule.get("verbs") or []
            ):
                origins = granted.setdefault(perm, [])
                if origin not in origins:
                    origins.append(origin)
    return granted


def _is_controller(subject: Obj, *, namespace: str) -> bool:
    return (
        subject.get("kind") == "ServiceAccount"
        and subject.get("name") == CONTROLLER_SA
        and subject.get("namespace", namespace) == namespace
    )
