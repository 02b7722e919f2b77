"""`python -m rbacaudit` as `make rbac-audit` runs it, on a rendered chart and audit logs written
here: it passes when every grant was used, and fails, naming the grant, its role and what to
do, when a grant no log line used; a missing log or one without the controller fails too, and
so does a run whose e2e went to a cluster of KUBECONFIG's (the local cluster's log is not read)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from devcluster import audit as audit_logs
from devcluster.layout import Layout
from rbacaudit import __main__ as cli

REPO = Path(__file__).resolve().parents[3]
USER = "system:serviceaccount:kserve:kserve-controller-manager"
SUBJECT = {"kind": "ServiceAccount", "name": "kserve-controller-manager", "namespace": "kserve"}
CHART = [
    {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "kserve-manager-role"},
        "rules": [
            {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["list", "delete"]},
            {"apiGroups": [""], "resources": ["services"], "verbs": ["create", "patch"]},
        ],
    },
    {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "kserve-manager-rolebinding"},
        "roleRef": {"kind": "ClusterRole", "name": "kserve-manager-role"},
        "subjects": [SUBJECT],
    },
]


def line(verb: str, resource: str, *, group: str = "", code: int = 200, user: str = USER) -> str:
    ref = {"resource": resource, "namespace": "ns", **({"apiGroup": group} if group else {})}
    return json.dumps(
        {
            "kind": "Event",
            "apiVersion": "audit.k8s.io/v1",
            "level": "Metadata",
            "stage": "ResponseComplete",
            "verb": verb,
            "user": {"username": user},
            "objectRef": ref,
            "responseStatus": {"code": code},
            "stageTimestamp": "2026-12-07T21:00:00.000000Z",
        }
    )


EVERY_GRANT = [
    line("list", "deployments", group="apps"),
    line("delete", "deployments", group="apps"),
    line("patch", "services", code=201),  # an apply that made it: create too
]


@pytest.fixture
def manifests(tmp_path: Path) -> Path:
    path = tmp_path / "chart.yaml"
    path.write_text(yaml.safe_dump_all(CHART))
    return path


def audit(tmp_path: Path, manifests: Path, *logs: list[str]) -> tuple[int, Any, str]:
    """(exit code, the report, stderr) of one run over `logs`, each a file of lines."""
    args = ["--manifests", str(manifests), "--report", str(tmp_path / "report.md")]
    for i, lines in enumerate(logs):
        path = tmp_path / f"log{i}" / "audit.log"
        path.parent.mkdir()
        path.write_text("".join(f"{one}\n" for one in lines))
        args += ["--log", str(path)]
    done = subprocess.run(
        [sys.executable, "-m", "rbacaudit", *args],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO / "hack")},
        capture_output=True,
        text=True,
        check=False,
    )
    return done.returncode, (tmp_path / "report.md").read_text(), done.stderr


def test_every_grant_used_passes(tmp_path: Path, manifests: Path) -> None:
    code, text, stderr = audit(tmp_path, manifests, EVERY_GRANT[:1], EVERY_GRANT[1:])
    assert (code, stderr) == (0, "")
    assert "4 permissions granted: 4 used, 0 needed on rare paths only, 0 unused." in text
    assert "| core | services | create | 1 | used |" in text


def test_a_grant_no_log_line_used_fails_naming_it(tmp_path: Path, manifests: Path) -> None:
    others = [*EVERY_GRANT[:1], *EVERY_GRANT[2:]]
    admin = line("delete", "deployments", group="apps", user="kubernetes-admin")  # not ours
    code, text, stderr = audit(tmp_path, manifests, [*others, admin])
    assert code == 1
    assert "| apps | deployments | delete | 0 | UNUSED |" in text
    failure, advice = stderr.splitlines()
    assert failure == (
        "rbac-audit: FAILED: ClusterRole kserve-manager-role grants 'delete' on "
        "apps/deployments; no request of the controller in the audit logs used it"
    )
    assert advice.startswith(
        "rbac-audit: remove each from charts/kserve/templates/controller-rbac.yaml, or name "
        "the path that needs it in hack/rbacaudit/grants.py (RARE); logs read: "
    )


def test_a_refused_request_does_not_count_as_use(tmp_path: Path, manifests: Path) -> None:
    refused = line("delete", "deployments", group="apps", code=403)
    code, text, stderr = audit(tmp_path, manifests, [*EVERY_GRANT[:1], *EVERY_GRANT[2:], refused])
    assert code == 1
    assert "'delete' on apps/deployments" in stderr
    assert "- apps deployments delete: 1" in text


def test_a_missing_log_or_one_without_the_controller_fails(
    tmp_path: Path, manifests: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other" / "audit.log"
    other.parent.mkdir()
    other.write_text(line("list", "deployments", group="apps", user="kubernetes-admin") + "\n")
    used = tmp_path / "used" / "audit.log"
    used.parent.mkdir()
    used.write_text("".join(f"{one}\n" for one in EVERY_GRANT))
    missing = tmp_path / "never-written" / "audit.log"
    argv = ["--manifests", str(manifests), "--report", str(tmp_path / "report.md")]
    for log in (used, other, missing):
        argv += ["--log", str(log)]
    assert cli.main(argv) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"rbac-audit: FAILED: {other} holds no request of {USER}",
        f"rbac-audit: FAILED: no audit log at {missing}: run the suite that writes it first",
    ]


def test_no_log_at_all_says_so_instead_of_listing_every_grant(
    tmp_path: Path, manifests: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "audit.log"
    argv = [
        "--manifests",
        str(manifests),
        "--report",
        str(tmp_path / "r.md"),
        "--log",
        str(missing),
    ]
    assert cli.main(argv) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"rbac-audit: FAILED: no audit log at {missing}: run the suite that writes it first"
    ]


def local_cluster(tmp_path: Path) -> tuple[dict[str, str], Path, Path]:
    """An environment whose local cluster (devcluster's layout under XDG_CACHE_HOME) has an
    audit log in which every grant was used; the kubeconfig and the log."""
    env = {**os.environ, "HOME": str(tmp_path), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    env.pop("KUBECONFIG", None)
    where = Layout.from_env(env)
    where.audit_log.parent.mkdir(parents=True)
    where.audit_log.write_text("".join(f"{one}\n" for one in EVERY_GRANT))
    return env, where.kubeconfig, where.audit_log


def test_with_a_kubeconfig_of_another_cluster_the_local_clusters_log_is_not_read(
    tmp_path: Path, manifests: Path
) -> None:
    env, local, log = local_cluster(tmp_path)
    other = tmp_path / "kind.kubeconfig"
    done = subprocess.run(
        [sys.executable, "-m", "rbacaudit", "--manifests", str(manifests), "--report",
         str(tmp_path / "report.md")],
        cwd=REPO,
        env={**env, "KUBECONFIG": str(other), "PYTHONPATH": str(REPO / "hack")},
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert done.returncode == 1
    assert (
        f"rbac-audit: FAILED: KUBECONFIG={other} is not the local cluster's "
        f"({local}): make e2e ran there"
    ) in done.stderr
    assert f"{log} is the last local cluster's, not this run's, and is not read" in done.stderr
    assert str(log) not in (tmp_path / "report.md").read_text()  # not among the logs read


@pytest.mark.parametrize("kubeconfig", [None, "local", "local-among-others"])
def test_without_kubeconfig_or_with_the_local_clusters_its_log_is_read(
    tmp_path: Path, kubeconfig: str | None
) -> None:
    env, local, log = local_cluster(tmp_path)
    if kubeconfig == "local":
        env["KUBECONFIG"] = str(local)
    elif kubeconfig == "local-among-others":
        env["KUBECONFIG"] = f"{tmp_path}/other:{local}"
    writers, problems = cli.default_logs(env)
    assert (writers, problems) == (
        {audit_logs.INTEGRATION_LOG: "make test-integration", log: "make e2e"},
        [],
    )
