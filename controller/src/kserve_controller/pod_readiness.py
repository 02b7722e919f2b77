"""Pods stranded on a silent node → the reason users read (pure).

When a node stops reporting (its kubelet or container runtime down, or the node unreachable),
the control plane marks its pods not Ready: the Ready condition turns False with no reason of
the kubelet's, while the containers' last reported statuses still say ready. The Deployment then
only says it lacks minimum availability; this names the node and the pods instead. The kubelet
itself always gives a reason when it says not Ready (ContainersNotReady,
ReadinessGatesNotReady), so those pods are not taken for stranded ones.
"""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]

NODE_NOT_REPORTING = "NodeNotReporting"


def stranded(pods: list[Obj]) -> tuple[str, str] | None:
    """(reason, message) when running pods are not Ready only because their node went silent;
    None when no pod is."""
    by_node: dict[str, list[str]] = {}
    for pod in pods:
        meta, status = pod.get("metadata") or {}, pod.get("status") or {}
        if status.get("phase") != "Running" or meta.get("deletionTimestamp"):
            continue
        ready = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
        if ready is None or ready.get("status") != "False" or ready.get("reason"):
            continue
        containers = status.get("containerStatuses") or []
        if not containers or not all(c.get("ready") for c in containers):
            continue
        node = str((pod.get("spec") or {}).get("nodeName") or "unknown")
        by_node.setdefault(node, []).append(str(meta.get("name")))
    if not by_node:
        return None
    parts = []
    for node, names in sorted(by_node.items()):
        many = len(names) > 1
        parts.append(
            f"node {node} stopped reporting to the control plane (kubelet or container runtime "
            f"down, or the node unreachable): pod{'s' if many else ''} {', '.join(sorted(names))} "
            f"marked not ready, {'their' if many else 'its'} containers ready when last reported"
        )
    return NODE_NOT_REPORTING, "; ".join(parts)
