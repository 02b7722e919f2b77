"""Last: `helm uninstall kserve`, then `kserve-crd`, leave nothing of ours but the CRDs (kept by
design, helm.sh/resource-policy: keep); deleting those leaves nothing at all."""

from __future__ import annotations

import time

from e2e_kube import Cli, wait_for
from e2e_steps import Install
from e2e_timeline import Timeline

# Namespaced kinds a chart or the controller could leave in the kserve namespace. Not leases:
# the leader-election Lease outlives its holder by design (released, not deleted), as upstream.
NAMESPACED = "deploy,rs,pods,svc,serviceaccounts,roles,rolebindings,configmaps,secrets"
CLUSTER_SCOPED = (
    "clusterroles,clusterrolebindings,mutatingwebhookconfigurations,validatingwebhookconfigurations"
)
# What the cluster or the test itself put there, not the charts or the controller.
NOT_OURS = {
    "serviceaccount/default",
    "configmap/kube-root-ca.crt",
    "configmap/kserve-e2e-ca",  # the test's CA bundle (a user would make this one too)
}


def leftovers(cli: Cli) -> list[str]:
    ours = []
    for ref in cli.kubectl("get", NAMESPACED, "-n", "kserve", "-o", "name").split():
        kind, _, name = ref.partition("/")  # e.g. deployment.apps/x, lease.coordination.k8s.io/y
        if f"{kind.split('.')[0]}/{name}" not in NOT_OURS:
            ours.append(ref)
    cluster = cli.kubectl("get", CLUSTER_SCOPED, "-o", "name", echo=False).split()
    # `kserve-py:` names are the local cluster's own add-ons (its gateway's RBAC), not the charts'
    return ours + [n for n in cluster if "kserve" in n and "/kserve-py:" not in n]


def test_uninstall_leaves_only_the_crds_then_nothing(
    cli: Cli, kserve: Install, timeline: Timeline
) -> None:
    # InferenceServices a user would delete first (the demos' and the lifecycle test's)
    for namespace in ("ml", "intent"):
        cli.kubectl(
            "delete", "inferenceservice", "--all", "-n", namespace, "--ignore-not-found", "--wait"
        )
    t0 = time.monotonic()
    cli.helm("uninstall", "kserve", "-n", "kserve", "--wait")
    cli.helm("uninstall", "kserve-crd", "-n", "kserve", "--wait")
    kserve.installed = False
    timeline.add("helm uninstall kserve, kserve-crd", time.monotonic() - t0)

    try:
        wait_for("the kserve namespace to empty", lambda: not leftovers(cli), timeout=90)
    except AssertionError as err:
        raise AssertionError(f"left behind after helm uninstall: {leftovers(cli)}") from err
    runtimes = cli.kubectl("get", "clusterservingruntimes", "-o", "name")
    assert not runtimes.strip(), f"ClusterServingRuntimes left behind: {runtimes}"

    kept = {line.split()[0] for line in cli.kubectl("get", "crds").splitlines() if "kserve" in line}
    assert len(kept) == 6, f"the CRDs are kept on uninstall by design; found {kept}"
    cli.kubectl("delete", "crd", *sorted(kept))
    assert "kserve" not in cli.kubectl("get", "crds")
    assert not cli.kubectl("api-resources", "--api-group=serving.kserve.io", "-o", "name").strip()
    cli.kubectl("delete", "namespace", "kserve", "ml", "intent", "--ignore-not-found")
