"""`up`: a one-node Kubernetes cluster on this machine, as root: the control plane of
controlplane.py with its node (node.py), add-ons (addons.py), gateway (gateway.py) and
autoscaling (autoscaling.py: KEDA, Prometheus), images from our registry.
Cleans what an earlier (maybe killed) run left first; a failed `up` removes what it started."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from devcluster import addons, autoscaling, gateway, node, sh, teardown
from devcluster.controlplane import BIN, ControlPlane, Node, tool
from devcluster.layout import Layout

# KEDA + Prometheus only when asked (CLUSTER_AUTOSCALING=1): wired, not yet run on a cluster
# in CI, so make test's cluster does not depend on them yet.
AUTOSCALING = os.environ.get("CLUSTER_AUTOSCALING") == "1"
IMAGES = ("pause", "coredns", "metrics-server", "traefik") + (
    ("keda", "prometheus") if AUTOSCALING else ()
)


def log(message: str) -> None:
    print(f"[cluster] {message}", file=sys.stderr, flush=True)


def control_plane(layout: Layout) -> ControlPlane:
    return ControlPlane(
        workdir=layout.state,
        address=layout.node_ip,
        port=layout.api_port,
        etcd_port=layout.etcd_port,
        etcd_peer_port=layout.etcd_port + 1,
        service_cidr=layout.service_cidr,
        node=Node(name=layout.node_name, ip=layout.node_ip, api_service_ip=layout.api_service_ip),
        run_dir=layout.run,
        log_dir=layout.logs,
        audit_log=layout.audit_log,
    )


def down(layout: Layout) -> None:
    teardown.down(layout, kube_proxy=str(BIN / "kube-proxy"))


def up(layout: Layout) -> Path:
    """Brings the cluster up and returns its admin kubeconfig."""
    t0 = time.monotonic()
    missing = [name for name in IMAGES if not node.registry_has(layout, name)]
    if missing:
        raise sh.ClusterError(
            f"no {', '.join(missing)}:{layout.image_tag} image in the registry "
            f"at {layout.registry_addr}: run make images first"
        )
    gateway.crd_files()  # the Gateway API and KEDA CRDs from `make tools`, before anything starts
    if AUTOSCALING:
        autoscaling.crd_files()
    if any(node.process(layout, name).alive() for name in ("kube-apiserver", "kubelet")):
        raise sh.ClusterError(
            f"a local cluster is already running (pids in {layout.run}): make cluster-down first"
        )
    binaries = {name: str(tool(name)) for name in ("kubectl", "kubelet", "kube-proxy")}
    down(layout)  # what a killed run left
    try:
        _up(layout, binaries)
    except BaseException:
        down(layout)  # else the next up would take it for a running cluster
        raise
    kubectl = [binaries["kubectl"], "--kubeconfig", str(layout.kubeconfig)]
    version = json.loads(sh.run([*kubectl, "version", "-o", "json"]))["serverVersion"]
    log(f"up in {time.monotonic() - t0:.0f} s: {version['gitVersion']}")
    log(f"export KUBECONFIG={layout.kubeconfig}")
    return layout.kubeconfig


def _up(layout: Layout, binaries: dict[str, str]) -> None:
    for path in (layout.state, layout.run, layout.logs, layout.etc):
        path.mkdir(parents=True, exist_ok=True)
    layout.state.chmod(0o700)
    node.network(layout)
    log("control plane (etcd, kube-apiserver, controller-manager, scheduler)")
    plane = control_plane(layout)
    plane.start()
    kubectl = [binaries["kubectl"], "--kubeconfig", str(layout.kubeconfig)]
    addons.apply(layout, kubectl)
    gateway.apply(layout, kubectl)
    if AUTOSCALING:
        autoscaling.apply(layout, kubectl)
    log("containerd + kubelet")
    node.containerd(layout)
    stale = node.refresh_images(layout)
    if stale:
        log(f"dropped {stale} cached image(s) rebuilt since (pulled again on use)")
    node.kubelet(layout, binaries["kubelet"], kubectl)
    node.kube_proxy(layout, binaries["kube-proxy"])
    for name in ("kube-controller-manager", "kube-scheduler", "kube-proxy"):
        proc = node.process(layout, name)
        if not proc.alive():
            raise sh.ClusterError(f"{name} exited (log: {proc.log}):\n{proc.tail(15)}")
    log("CoreDNS, metrics-server")
    addons.wait(kubectl)
    log(f"gateway (Traefik) on http://{layout.gateway_address}")
    gateway.wait(layout, kubectl)
    if AUTOSCALING:
        log(f"KEDA (external metrics API), Prometheus on {autoscaling.PROMETHEUS_URL}")
        autoscaling.wait(kubectl)
