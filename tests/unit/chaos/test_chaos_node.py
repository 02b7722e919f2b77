"""Finding a container's processes on the node by their cgroup (tests/chaos/chaos_node.py)."""

from __future__ import annotations

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
