"""Faults on the node itself (this host runs the local cluster's one node, as root): SIGKILL
a container's processes the way the kernel's OOM killer or a crash would, without the kubelet
or the API server knowing beforehand (`kubectl delete` would let the pod terminate gracefully).
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

PROC = Path("/proc")


def container_id(pod: dict[str, object], container: str) -> str:
    """The runtime's id of `container` in `pod` (status.containerStatuses), without the
    `containerd://` prefix."""
    statuses = (pod.get("status") or {}).get("containerStatuses") or []  # type: ignore[union-attr]
    for status in statuses:
        if status.get("name") == container and status.get("containerID"):
            return str(status["containerID"]).split("://", 1)[-1]
    raise AssertionError(f"no running container {container!r} in pod status: {statuses}")


def container_pids(cid: str, *, proc: Path = PROC) -> list[int]:
    """Every process whose cgroup path names the container (systemd `cri-containerd-<id>.scope`
    and cgroupfs `.../<id>` layouts alike)."""
    pids = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cgroup = (entry / "cgroup").read_text()
        except OSError:  # gone meanwhile
            continue
        if cid in cgroup:
            pids.append(int(entry.name))
    return sorted(pids)


def sigkill(cid: str) -> list[int]:
    """SIGKILL every process of the container; the pids killed (fails if there were none)."""
    pids = container_pids(cid)
    if not pids:
        raise AssertionError(f"no process of container {cid[:12]} on this node")
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):  # exited meanwhile
            os.kill(pid, signal.SIGKILL)
    return pids
