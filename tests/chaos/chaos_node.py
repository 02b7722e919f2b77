"""Faults on the node itself (this host runs the local cluster's one node and its control
plane, as root): SIGKILL a container's processes the way the kernel's OOM killer or a crash
would, without the kubelet or the API server knowing beforehand (`kubectl delete` would let the
pod terminate gracefully); restart the cluster's daemons (kubelet, containerd) as an init system
does; reach etcd and the kube-apiserver (hack/devcluster) for compaction and restarts. Also a
container's resident memory, read where the kernel keeps it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from devcluster import cluster, node
from devcluster.controlplane import ControlPlane
from devcluster.layout import Layout
from rbacaudit import grants, report

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


def rss_bytes(cid: str, *, proc: Path = PROC) -> int:
    """The resident memory of every process of the container together (VmRSS), in bytes."""
    total = 0
    for pid in container_pids(cid, proc=proc):
        try:
            status = (proc / str(pid) / "status").read_text()
        except OSError:  # exited meanwhile
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024  # kB
    return total


def cpu_seconds(cid: str, *, proc: Path = PROC) -> float:
    """CPU time (user + system) every live process of the container has used, in seconds."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in container_pids(cid, proc=proc):
        try:
            stat = (proc / str(pid) / "stat").read_text()
        except OSError:  # exited meanwhile
            continue
        fields = stat.rpartition(")")[2].split()  # after the command, which may hold spaces
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / ticks


def load_average(*, proc: Path = PROC) -> float:
    """The node's 1-minute load average (runnable tasks; the machine has os.cpu_count())."""
    return float((proc / "loadavg").read_text().split()[0])


# --- the cluster's own processes (hack/devcluster runs them on this host) ------------------


def layout() -> Layout:
    return Layout.from_env(os.environ)


def control_plane() -> ControlPlane:
    """The local cluster's etcd and kube-apiserver (for compaction and restarts)."""
    return cluster.control_plane(layout())


WRITES = ("create", "update", "patch", "delete", "deletecollection")


def audit_offset(log: Path | None = None) -> int:
    """Where the apiserver's audit log ends now: `controller_writes_since` reads on from here."""
    log = log or layout().audit_log
    return log.stat().st_size if log.exists() else 0


def controller_writes_since(offset: int, *, log: Path | None = None) -> Counter[str]:
    """The controller's writes (by `<verb> <resource>[/<subresource>]`) in the apiserver's audit
    log since `offset` (devcluster/audit.py keeps the kserve namespace's service accounts),
    except its leader lease's renewals: those are not reconciles."""
    log = log or layout().audit_log
    with log.open("rb") as handle:
        handle.seek(offset)
        lines = handle.read().decode(errors="replace").splitlines()
    user = grants.user("kserve")
    found: Counter[str] = Counter()
    for event in report.events(lines):
        ref = event.get("objectRef") or {}
        if (
            (event.get("user") or {}).get("username") != user
            or event.get("stage") != "ResponseComplete"
            or event.get("verb") not in WRITES
            or ref.get("resource") == "leases"
        ):
            continue
        resource = ref.get("resource", "") + (
            f"/{ref['subresource']}" if ref.get("subresource") else ""
        )
        found[f"{event['verb']} {resource}"] += 1
    return found


@dataclass(frozen=True)
class Launch:
    """How a process was started: what restarts it as it was."""

    argv: list[str]
    env: dict[str, str]
    cwd: str

    @classmethod
    def of(cls, pid: int, *, proc: Path = PROC) -> Launch:
        def nul_split(name: str) -> list[str]:
            return [p.decode() for p in (proc / str(pid) / name).read_bytes().split(b"\0") if p]

        env = dict(item.split("=", 1) for item in nul_split("environ") if "=" in item)
        return cls(nul_split("cmdline"), env, os.readlink(proc / str(pid) / "cwd"))


def restart(names: list[str], *, down_seconds: float) -> None:
    """Restarts the local cluster's daemons `names` (e.g. kubelet, containerd) as a node's init
    system would: each stopped in that order (SIGTERM; SIGKILL after 15 s), down for
    `down_seconds`, then started in the reverse order with the command line, environment and
    directory it ran with, its log appended to, each ready (READY) before the next starts."""
    where = layout()
    procs = [node.process(where, name) for name in names]
    launches = {}
    for proc in procs:
        pid = proc.pid
        if pid is None or not proc.alive():
            raise AssertionError(f"{proc.name} is not running (no live pid in {proc.pidfile})")
        launches[proc.name] = Launch.of(pid)
    for proc in procs:
        proc.stop()
    time.sleep(down_seconds)
    for proc in reversed(procs):
        since = proc.log.stat().st_size if proc.log.exists() else 0
        launch = launches[proc.name]
        with proc.log.open("ab") as out:
            child = subprocess.Popen(
                launch.argv,
                env=launch.env,
                cwd=launch.cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # outlives this test, as `make cluster-up` started it
            )
        assert proc.pidfile is not None
        proc.pidfile.write_text(f"{child.pid}\n")
        ready = READY.get(proc.name)
        if ready is not None:
            deadline = time.monotonic() + RESTART_READY_WITHIN
            while not ready(where, proc.log, since):
                if child.poll() is not None:
                    raise AssertionError(f"{proc.name} exited on restart:\n{proc.tail(30)}")
                if time.monotonic() > deadline:
                    raise AssertionError(f"{proc.name} not ready after restart:\n{proc.tail(30)}")
                time.sleep(0.25)


def _log_since(log: Path, offset: int) -> str:
    with log.open("rb") as handle:
        handle.seek(offset)
        return handle.read().decode(errors="replace")


def _containerd_ready(where: Layout, log: Path, since: int) -> bool:
    # as hack/devcluster/node.py: the CRI service logs this last before it serves
    return "Start streaming server" in _log_since(log, since)


def _kubelet_ready(where: Layout, log: Path, since: int) -> bool:
    try:
        with urllib.request.urlopen("http://127.0.0.1:10248/healthz", timeout=2) as resp:
            return bool(resp.read() == b"ok")
    except OSError:
        return False


RESTART_READY_WITHIN = 60.0
READY: dict[str, Callable[[Layout, Path, int], bool]] = {
    "containerd": _containerd_ready,
    "kubelet": _kubelet_ready,
}
