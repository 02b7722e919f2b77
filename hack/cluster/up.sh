#!/usr/bin/env bash
# `make cluster-up`: a one-node Kubernetes cluster on this machine, as root (hack/devcluster).
# This wrapper installs what Python cannot: Debian's containerd/runc/CNI plugins and the pinned
# cluster binaries (hack/tools.sh cluster); our images must be in the local registry.
# Usage: up.sh            bring the cluster up (prints the kubeconfig path last)
#        up.sh kubeconfig print the kubeconfig path
source "$(dirname "$0")/../images/common.sh"
LOG_TAG=cluster
[ -x "$ROOT/.venv/bin/python" ] || die "no .venv: run make venv first"
devcluster() { PYTHONPATH="$ROOT/hack" "$ROOT/.venv/bin/python" -m devcluster "$@"; }

if [ "${1:-}" = kubeconfig ]; then devcluster kubeconfig; exit; fi
apt_need containerd runc containernetworking-plugins iptables conntrack iproute2 util-linux curl
bash "$ROOT/hack/tools.sh" cluster >/dev/null || die "hack/tools.sh cluster failed (kubelet and friends)"
devcluster up
