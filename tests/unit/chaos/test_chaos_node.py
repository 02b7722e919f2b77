"""Finding a container's processes on the node by their cgroup (tests/chaos/chaos_node.py)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "chaos"))

import chaos_node

CID = "4f" * 32


def test_pids_by_cgroup_in_either_layout(tmp_path: Path) -> None:
    layouts = {
        "101": f"0::/kubepods.slice/kubepods-burstable.slice/cri-containerd-{CID}.scope\n",
        "102": f"0::/kubepods/besteffort/pod1234/{CID}\n",
        "103": "0::/kubepods/besteffort/pod1234/" + "ab" * 32 + "\n",  # another container
        "self": f"0::/{CID}\n",  # not a pid
    }
    for pid, cgroup in layouts.items():
        (tmp_path / pid).mkdir()
        (tmp_path / pid / "cgroup").write_text(cgroup)
    (tmp_path / "104").mkdir()  # exited between listing and reading
    assert chaos_node.container_pids(CID, proc=tmp_path) == [101, 102]


def test_container_id_from_pod_status() -> None:
    pod = {"status": {"containerStatuses": [
        {"name": "agent", "containerID": "containerd://" + "ab" * 32},
        {"name": "kserve-container", "containerID": f"containerd://{CID}"},
    ]}}  # fmt: skip
    assert chaos_node.container_id(pod, "kserve-container") == CID
    with pytest.raises(AssertionError, match="no running container 'x'"):
        chaos_node.container_id(pod, "x")


def test_rss_sums_the_container_processes(tmp_path: Path) -> None:
    for pid, cgroup, rss in (("201", CID, 1000), ("202", CID, 24), ("203", "ab" * 32, 7)):
        (tmp_path / pid).mkdir()
        (tmp_path / pid / "cgroup").write_text(f"0::/kubepods/pod1/{cgroup}\n")
        (tmp_path / pid / "status").write_text(
            f"Name:\tpython3\nVmRSS:\t   {rss} kB\nThreads:\t4\n"
        )
    assert chaos_node.rss_bytes(CID, proc=tmp_path) == 1024 * 1024


def test_a_restart_reuses_the_command_line_environment_and_directory(tmp_path: Path) -> None:
    proc = tmp_path / "301"
    proc.mkdir()
    (proc / "cmdline").write_bytes(b"/usr/bin/containerd\0--config\0/etc/c.toml\0")
    (proc / "environ").write_bytes(b"PATH=/usr/bin:/bin\0HOME=/root\0")
    (proc / "cwd").symlink_to(tmp_path)
    launch = chaos_node.Launch.of(301, proc=tmp_path)
    assert launch.argv == ["/usr/bin/containerd", "--config", "/etc/c.toml"]
    assert launch.env == {"PATH": "/usr/bin:/bin", "HOME": "/root"}
    assert launch.cwd == str(tmp_path)


def test_the_controllers_writes_in_the_audit_log_leave_out_lease_renewals(tmp_path: Path) -> None:
    controller = "system:serviceaccount:kserve:kserve-controller-manager"

    def event(verb: str, resource: str, *, user: str = controller, **ref: str) -> str:
        return json.dumps({
            "stage": "ResponseComplete", "verb": verb, "user": {"username": user},
            "objectRef": {"resource": resource, **ref},
        })  # fmt: skip

    log = tmp_path / "audit.log"
    log.write_text(event("patch", "deployments") + "\n")
    offset = chaos_node.audit_offset(log)
    lines = [
        event("patch", "deployments"),
        event("patch", "inferenceservices", subresource="status"),
        event("update", "leases"),  # the leader's renewal
        event("get", "deployments"),
        event("create", "events"),
        event(
            "patch", "deployments", user="system:serviceaccount:kube-system:deployment-controller"
        ),
    ]
    with log.open("a") as out:
        out.write("\n".join(lines) + "\n")
    writes = chaos_node.controller_writes_since(offset, log=log)
    assert writes == {
        "patch deployments": 1, "patch inferenceservices/status": 1, "create events": 1
    }  # fmt: skip


def test_cpu_time_of_the_container_and_the_node_load(tmp_path: Path) -> None:
    ticks = os.sysconf("SC_CLK_TCK")
    for pid, cgroup, (utime, stime) in (
        ("401", CID, (3 * ticks, ticks)),
        ("402", "cd" * 32, (9, 9)),
    ):
        (tmp_path / pid).mkdir()
        (tmp_path / pid / "cgroup").write_text(f"0::/kubepods/pod1/{cgroup}\n")
        rest = " ".join(["0"] * 10)  # state .. cmajflt: fields 3-13
        (tmp_path / pid / "stat").write_text(f"{pid} (python3 -m x) S {rest} {utime} {stime} 0 0\n")
    assert chaos_node.cpu_seconds(CID, proc=tmp_path) == 4.0
    (tmp_path / "loadavg").write_text("1.52 0.98 0.60 3/245 12345\n")
    assert chaos_node.load_average(proc=tmp_path) == 1.52
