"""`python -m rbacaudit [--log PATH ...] [--report PATH]`: render the kserve chart with the
pinned helm, read the audit logs, write and print the report; exit 1 on an unused grant, or
when a log is missing or holds no request of the controller (then nothing was measured)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import yaml

from devcluster import audit
from rbacaudit import grants, report

REPO = Path(__file__).resolve().parents[2]
NAMESPACE = "kserve"  # where the tests and the e2e install the chart (devcluster/audit.py)
INTEGRATION_LOG = REPO / "build" / "audit" / "integration-controller.log"
REPORT = REPO / "build" / "audit" / "rbac-report.md"


def cluster_log() -> Path:
    home = Path(os.environ.get("HOME", "/root"))
    cache = Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache") / "kserve-py"
    return cache / "logs" / "cluster" / "audit.log"


def rendered_chart() -> list[dict[str, object]]:
    helm = REPO / "bin" / "helm"
    if not helm.exists():
        raise SystemExit(f"rbac-audit: helm not found at {helm}: run `make tools`")
    out = subprocess.run(
        [str(helm), "template", "kserve", str(REPO / "charts" / "kserve"), "-n", NAMESPACE],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--log", type=Path, action="append", help="an audit log (repeatable)")
    parser.add_argument("--report", type=Path, default=REPORT)
    args = parser.parse_args(argv)
    logs: list[Path] = args.log or [INTEGRATION_LOG, cluster_log()]
    user = grants.user(NAMESPACE)
    granted = grants.controller_permissions(rendered_chart(), namespace=NAMESPACE)
    usage = report.Usage()
    sources, problems = [], []
    for log in logs:
        before = usage.events
        paths = audit.files(log)
        if not paths:
            problems.append(f"no audit log at {log}")
        for path in paths:
            with path.open() as lines:
                usage.add(report.events(lines), user=user)
        sources.append((str(log), usage.events - before))
        if paths and usage.events == before:
            problems.append(f"{log} holds no request of {user}")
    verdicts = report.judge(granted, usage)
    text = report.markdown(verdicts, usage, user=user, sources=sources)
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(text)
    print(text)
    print(f"rbac-audit: report in {args.report}")
    problems += [f"granted, never used: {v.permission.shown()}" for v in report.unused(verdicts)]
    for problem in problems:
        print(f"rbac-audit: FAILED: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
