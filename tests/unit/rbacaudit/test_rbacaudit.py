"""The RBAC check: grants of the roles bound to the controller's ServiceAccount against the
requests its audit events show; a grant nothing used fails unless a rare path is named."""

from __future__ import annotations

from typing import Any

from rbacaudit import grants, report
from rbacaudit.grants import Permission

USER = "system:serviceaccount:kserve:kserve-controller-manager"
SUBJECT = {"kind": "ServiceAccount", "name": "kserve-controller-manager", "namespace": "kserve"}


def role(kind: str, name: str, *rules: dict[str, Any]) -> dict[str, Any]:
    return {"kind": kind, "metadata": {"name": name}, "rules": list(rules)}


def binding(kind: str, name: str, role_kind: str, subject: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": kind,
        "metadata": {"name": name},
        "roleRef": {"kind": role_kind, "name": name},
        "subjects": [subject],
    }


MANIFESTS = [
    role(
        "ClusterRole",
        "manager",
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "delete"]},
        {"apiGroups": [""], "resources": ["pods", "pods/status"], "verbs": ["list"]},
    ),
    binding("ClusterRoleBinding", "manager", "ClusterRole", SUBJECT),
    role(
        "Role",
        "leader",
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["get"]},
    ),
    binding("RoleBinding", "leader", "Role", SUBJECT),
    # bound to someone else: not the controller's
    role("ClusterRole", "viewer", {"apiGroups": [""], "resources": ["secrets"], "verbs": ["*"]}),
    binding("ClusterRoleBinding", "viewer", "ClusterRole", {**SUBJECT, "name": "other"}),
]


def event(verb: str, resource: str, *, group: str = "", code: int = 200, **extra: Any) -> Any:
    ref: dict[str, Any] = (
        {"resource": resource, "apiGroup": group} if group else {"resource": resource}
    )
    ref.update(extra)
    return {
        "stage": "ResponseComplete",
        "verb": verb,
        "user": {"username": USER},
        "objectRef": ref,
        "responseStatus": {"code": code},
    }


def test_each_grant_names_the_roles_that_hold_it() -> None:
    both = [*MANIFESTS, binding("ClusterRoleBinding", "viewer", "ClusterRole", SUBJECT)]
    origins = grants.granted_by(both, namespace="kserve")
    assert origins[Permission("apps", "deployments", "delete")] == ["ClusterRole manager"]
    assert origins[Permission("coordination.k8s.io", "leases", "get")] == ["Role leader"]
    assert origins[Permission("", "secrets", "*")] == ["ClusterRole viewer"]


def test_the_controllers_grants_come_from_its_bindings_only() -> None:
    assert grants.controller_permissions(MANIFESTS, namespace="kserve") == {
        Permission("apps", "deployments", "get"),
        Permission("apps", "deployments", "delete"),
        Permission("", "pods", "list"),
        Permission("", "pods/status", "list"),
        Permission("coordination.k8s.io", "leases", "get"),
    }


def test_unused_grants_are_named_and_refused_requests_listed() -> None:
    granted = grants.controller_permissions(MANIFESTS, namespace="kserve")
    usage = report.Usage()
    usage.add(
        [
            event("get", "deployments", group="apps", code=404),  # answered, if not found
            event("list", "pods"),
            event("list", "pods", subresource="status"),
            event("get", "leases", group="coordination.k8s.io"),
            event("get", "secrets", code=403),
            {**event("delete", "deployments", group="apps"), "user": {"username": "admin"}},
            {"stage": "ResponseComplete", "verb": "get", "user": {"username": USER}},  # /apis
        ],
        user=USER,
    )
    verdicts = report.judge(granted, usage)
    assert [v.permission.shown() for v in report.unused(verdicts)] == ["apps deployments delete"]
    assert usage.refused == {Permission("", "secrets", "get"): 1}
    text = report.markdown(verdicts, usage, user=USER, sources=[report.Source("audit.log", usage)])
    assert "| apps | deployments | delete | 0 | UNUSED |" in text
    assert "| core | pods/status | list | 1 | used |" in text
    assert "asked for without a grant.\n\n- core secrets get: 1" in text
    assert "`audit.log` (5 events)" in text


def test_a_source_shows_the_time_its_events_span() -> None:
    usage = report.Usage()
    usage.add(
        [
            {**event("list", "pods"), "stageTimestamp": "2026-12-07T21:00:05.000001Z"},
            {**event("get", "pods"), "stageTimestamp": "2026-12-07T21:00:01.000001Z"},
        ],
        user=USER,
    )
    shown = report.Source("a.log", usage).shown()
    assert shown == "`a.log` (2 events, 2026-12-07T21:00:01.000001Z to 2026-12-07T21:00:05.000001Z)"


def test_a_403_on_a_granted_permission_is_listed_apart() -> None:
    usage = report.Usage()
    usage.add([event("patch", "services", code=403)], user=USER)  # a namespace being deleted
    verdicts = report.judge({Permission("", "services", "patch")}, usage)
    text = report.markdown(verdicts, usage, user=USER, sources=[])
    assert "asked for without a grant" not in text
    assert "Refused (403) though granted" in text and "- core services patch: 1" in text


def test_a_watch_counts_when_it_starts() -> None:
    usage = report.Usage()
    started = {**event("watch", "pods"), "stage": "ResponseStarted"}
    usage.add([started, {**event("get", "pods"), "stage": "ResponseStarted"}], user=USER)
    assert usage.answered == {Permission("", "pods", "watch"): 1}


def test_a_rare_grant_is_reported_with_its_path_and_passes() -> None:
    rare = Permission("serving.kserve.io", "inferenceservices/finalizers", "update")
    [verdict] = report.judge({rare}, report.Usage())
    assert verdict.why.startswith("rare: ") and "blockOwnerDeletion" in verdict.why
    assert report.unused([verdict]) == []


def test_a_wildcard_grant_is_used_by_any_matching_request() -> None:
    usage = report.Usage()
    usage.add([event("patch", "configmaps")], user=USER)
    [verdict] = report.judge({Permission("", "configmaps", "*")}, usage)
    assert (verdict.requests, verdict.why) == (1, "used")


def test_an_apply_that_created_the_object_uses_create_too() -> None:
    usage = report.Usage()
    usage.add(
        [event("patch", "services", code=201), event("patch", "deployments", group="apps")],
        user=USER,
    )
    assert usage.answered == {
        Permission("", "services", "patch"): 1,
        Permission("", "services", "create"): 1,
        Permission("apps", "deployments", "patch"): 1,
    }


def test_an_unused_get_beside_a_used_list_is_the_pre_sync_read() -> None:
    usage = report.Usage()
    usage.add([event("list", "pods")], user=USER)
    granted = {Permission("", "pods", "get"), Permission("", "pods", "list")}
    verdicts = {v.permission.verb: v.why for v in report.judge(granted, usage)}
    assert verdicts == {"get": f"rare: {grants.PRE_SYNC_GET}", "list": "used"}
