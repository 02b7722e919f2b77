"""`python -m rbacaudit [--log PATH ...] [--manifests PATH] [--report PATH]`: read the audit
logs, take the controller's grants from the kserve chart (rendered with the pinned helm, or
already rendered at PATH), write and print the report; exit 1 on an unused grant, or when a log
is missing or holds no request of the controller (then nothing was measured)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import yaml

from devcluster import audit
from devcluster.layout import Layout
from rbacaudit import grants, report

REPO = Path(__file__).resolve().parents[2]
NAMESPACE = "kserve"  # where the tests and the e2e install the chart (devcluster/audit.py)
CHART = REPO / "charts" / "kserve"
RULES = "charts/kserve/templates/controller-rbac.yaml"
REPORT = REPO / "build" / "audit" / "rbac-report.md"


def rendered_chart() -> str:
    helm = REPO / "bin" / "helm"
    if not helm.exists():
        raise SystemExit(f"rbac-audit: helm not found at {helm}: run `make tools`")
    return subprocess.run(
        [str(helm), "template", "kserve", str(CHART), "-n", NAMESPACE],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def unused_message(verdict: report.Verdict, *, origins: list[str]) -> str:
    """Names the grant and the role that holds it."""
    p = verdict.permission
    return (
        f"{' and '.join(origins)} grants {p.verb!r} on {p.group or 'core'}/{p.resource}; "
        "no request of the controller in the audit logs used it"
    )


def default_logs(environ: Mapping[str, str]) -> tuple[dict[Path, str], list[str]]:
    """The logs to read when none is named (each with the target that writes it), and why one
    cannot be: `make e2e` against a cluster of KUBECONFIG's that is not the local one writes no
    log here, and the local cluster's log is then an earlier run's, so it is not read."""
    where = Layout.from_env(environ)
    writers = {audit.INTEGRATION_LOG: "make test-integration"}
    named = [Path(p) for p in environ.get("KUBECONFIG", "").split(os.pathsep) if p]
    if named and where.kubeconfig.resolve() not in [p.resolve() for p in named]:
        return writers, [
            f"KUBECONFIG={environ['KUBECONFIG']} is not the local cluster's "
            f"({where.kubeconfig}): make e2e ran there, and what the controller asked of that "
            f"cluster is in its apiserver's audit log, if it keeps one; {where.audit_log} is "
            "the last local cluster's, not this run's, and is not read. Pass that cluster's "
            "log with --log, or run make e2e on the local cluster (KUBECONFIG unset)"
        ]
    writers[where.audit_log] = "make e2e"
    return writers, []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--log", type=Path, action="append", help="an audit log (repeatable)")
    parser.add_argument("--manifests", type=Path, help="the chart as rendered (helm template)")
    parser.add_argument("--report", type=Path, default=REPORT)
    args = parser.parse_args(argv)
    writers, problems = default_logs(os.environ)
    logs: list[Path] = args.log or list(writers)
    if args.log:
        problems = []
    text = args.manifests.read_text() if args.manifests else rendered_chart()
    user = grants.user(NAMESPACE)
    origins = grants.granted_by(
        [doc for doc in yaml.safe_load_all(text) if doc], namespace=NAMESPACE
    )
    usage = report.Usage()
    sources = []
    for log in logs:
        own = report.Usage()
        paths = audit.files(log)
        if not paths:
            writer = writers.get(log, "the suite that writes it")
            problems.append(f"no audit log at {log}: run {writer} first")
        for path in paths:
            with path.open() as lines:
                own.add(report.events(lines), user=user)
        sources.append(report.Source(str(log), own))
        usage.merge(own)
        if paths and not own.events:
            problems.append(f"{log} holds no request of {user}")
    verdicts = report.judge(set(origins), usage)
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(report.markdown(verdicts, usage, user=user, sources=sources))
    print(args.report.read_text())
    print(f"rbac-audit: report in {args.report}")
    unused = report.unused(verdicts) if usage.events else []  # nothing measured: all unused
    problems += [unused_message(v, origins=origins[v.permission]) for v in unused]
    for problem in problems:
        print(f"rbac-audit: FAILED: {problem}", file=sys.stderr)
    if unused:
        print(
            f"rbac-audit: remove each from {RULES}, or name the path that needs it in "
            f"hack/rbacaudit/grants.py (RARE); logs read: {', '.join(map(str, logs))}",
            file=sys.stderr,
        )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
