"""The kube-apiserver's audit log, kept for the controller's identity only: what the RBAC check
(hack/rbacaudit) reads to tell which of the chart's grants the controller used.

Metadata level (who, verb, resource; no bodies), for the service accounts of the namespace the
tests and the e2e install the kserve chart into, so the log stays small and costs nothing
noticeable. RequestReceived is left out: one event per request when it completes, and one when
a watch starts (a watch still open when the apiserver stops never completes).
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# The controller integration suite's apiserver (tests/integration/controller) writes here; the
# local cluster's is Layout.audit_log. `make rbac-audit` reads both.
INTEGRATION_LOG = REPO / "build" / "audit" / "integration-controller.log"

# The chart's release namespace in the integration tests (controller_env.NAMESPACE) and e2e.
AUDITED_GROUP = "system:serviceaccounts:kserve"

POLICY = f"""\
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    userGroups: ["{AUDITED_GROUP}"]
  - level: None
"""


def prepare(*, policy: Path, log: Path) -> None:
    """Write the policy and start `log` afresh (a new control plane, a new record)."""
    policy.write_text(POLICY)
    log.parent.mkdir(parents=True, exist_ok=True)
    for old in files(log):
        old.unlink()


def flags(*, policy: Path, log: Path) -> list[str]:
    return [f"--audit-policy-file={policy}", f"--audit-log-path={log}", "--audit-log-format=json"]


def files(log: Path) -> list[Path]:
    """`log` and the files it was rotated into past 100 MB (`<stem>-<time><suffix>`, all kept)."""
    return sorted(p for p in log.parent.glob(f"{log.stem}*{log.suffix}") if p.is_file())
