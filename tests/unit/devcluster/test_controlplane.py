"""The control plane's files and processes, without starting an apiserver (the integration
tests and `make cluster-up` start real ones)."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from devcluster import audit, controlplane
from devcluster.procs import Process

NODE = controlplane.Node(name="kserve-py-node", ip="10.250.0.1", api_service_ip="10.96.0.1")


def test_a_missing_tool_is_named_before_anything_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(controlplane, "BIN", tmp_path / "bin")
    plane = controlplane.ControlPlane(workdir=tmp_path / "work")
    with pytest.raises(controlplane.ToolMissingError, match=r"etcd not found .*run `make tools`"):
        plane.start()
    assert not (tmp_path / "work").exists()


def test_cluster_kubeconfigs_carry_their_certificates(tmp_path: Path) -> None:
    plane = controlplane.ControlPlane(workdir=tmp_path, address=NODE.ip, port=6443, node=NODE)
    plane.write_pki()
    expected = {
        "admin": "kubernetes-admin",
        "controller-manager": "system:kube-controller-manager",
        "scheduler": "system:kube-scheduler",
        "kubelet": "system:node:kserve-py-node",
        "kube-proxy": "system:kube-proxy",
    }
    for user, common_name in expected.items():
        path = tmp_path / "pki" / f"{user}.kubeconfig"
        assert oct(path.stat().st_mode & 0o777) == "0o600"
        config = json.loads(path.read_text())
        [cluster] = config["clusters"]
        assert cluster["cluster"]["server"] == "https://10.250.0.1:6443"
        ca = base64.b64decode(cluster["cluster"]["certificate-authority-data"])
        assert ca == (tmp_path / "pki" / "ca.crt").read_bytes()
        [entry] = config["users"]
        cert = x509.load_pem_x509_certificate(
            base64.b64decode(entry["user"]["client-certificate-data"])
        )
        assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == common_name
    # the admin kubeconfig users get is self-contained too: it may be copied anywhere
    assert "client-key-data" in (tmp_path / "kubeconfig").read_text()


def test_loopback_kubeconfig_names_files_and_tokens_replace_the_cert(tmp_path: Path) -> None:
    plane = controlplane.ControlPlane(workdir=tmp_path, port=1234)
    plane.write_pki()
    user = json.loads(plane.kubeconfig.read_text())["users"][0]["user"]
    assert Path(user["client-certificate"]) == plane.admin_cert
    assert plane.admin_cert.exists()
    with_token = plane.write_kubeconfig(tmp_path / "sa.kubeconfig", token="abc")
    assert json.loads(with_token.read_text())["users"][0]["user"] == {"token": "abc"}
    assert not (tmp_path / "pki" / "kubelet.crt").exists()  # no node: no node certificates


def test_a_detached_process_is_found_and_stopped_through_its_pid_file(tmp_path: Path) -> None:
    pidfile = tmp_path / "run" / "sleeper.pid"
    started = Process("sleeper", ["sleep", "60"], tmp_path / "sleeper.log", pidfile)
    started.start()
    pid = started.pid
    # a later command (`make cluster-down`) knows only the pid file
    found = Process("sleeper", [], tmp_path / "sleeper.log", pidfile)
    assert found.alive() and found.pid == pid
    t0 = time.monotonic()
    found.stop(timeout=5)
    assert time.monotonic() - t0 < 4, "sleep ignores no TERM: it must not wait for the KILL"
    assert not pidfile.exists()
    assert not found.alive() and not started.alive()


def test_an_attached_process_dies_with_its_parent(tmp_path: Path) -> None:
    script = (
        "import sys, time; sys.path.insert(0, sys.argv[1]);"
        "from devcluster.procs import Process; from pathlib import Path;"
        "p = Process('sleeper', ['sleep', '60'], Path(sys.argv[2])); p.start();"
        "print(p.pid, flush=True); time.sleep(60)"
    )
    hack = Path(controlplane.__file__).parents[1]
    parent = subprocess.Popen(
        [sys.executable, "-c", script, str(hack), str(tmp_path / "log")], stdout=subprocess.PIPE
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    parent.kill()
    parent.wait(5)
    for _ in range(50):
        if not Path(f"/proc/{child}").exists():
            break
        time.sleep(0.1)
    assert not Path(f"/proc/{child}").exists(), "the child outlived its killed parent"


def test_a_start_begins_a_fresh_log_and_a_restart_appends(tmp_path: Path) -> None:
    # logs outlive the cluster: a wait for a line must never find the previous run's
    log = tmp_path / "c.log"
    for word, append in [("first", False), ("second", False), ("restarted", True)]:
        proc = Process("c", ["echo", word], log)
        proc.start(append=append)
        deadline = time.monotonic() + 5
        while proc.alive() and time.monotonic() < deadline:
            time.sleep(0.01)
    assert log.read_text() == "second\nrestarted\n"


def test_the_audit_log_records_the_controllers_namespace_and_starts_afresh(
    tmp_path: Path,
) -> None:
    log = tmp_path / "logs" / "audit.log"
    log.parent.mkdir()
    log.write_text("old run\n")
    (tmp_path / "logs" / "audit-2026-12-07T10-00-00.000.log").write_text("rotated\n")
    plane = controlplane.ControlPlane(workdir=tmp_path, audit_log=log)
    audit.prepare(policy=tmp_path / "policy.yaml", log=log)
    assert audit.files(log) == []
    policy = (tmp_path / "policy.yaml").read_text()
    assert 'userGroups: ["system:serviceaccounts:kserve"]' in policy
    args = plane._apiserver_args(Path("kube-apiserver"))
    assert f"--audit-log-path={log}" in args
    assert "--audit-log-format=json" in args
    without = controlplane.ControlPlane(workdir=tmp_path)._apiserver_args(Path("kube-apiserver"))
    assert not [a for a in without if a.startswith("--audit")]
