# Sourced by hack/cluster/*.sh: where the local cluster lives and its addresses. Everything it
# makes is under these paths (plus netns cni-*, bridges kservepy0 and kservepy-node, KUBE-*/CNI
# iptables chains), so down.sh can remove it all.
# shellcheck shell=bash
source "$(dirname "${BASH_SOURCE[0]}")/../images/common.sh"
LOG_TAG=cluster
CL_STATE=/var/lib/kserve-py-cluster      # etcd, kubelet root, pki, configs (removed by down)
CL_RUN="$RUN_DIR/cluster"                # sockets, pid files, containerd state (removed by down)
CL_IMAGES="$CACHE/cluster/containerd"    # containerd root: pulled images survive down (a cache)
CL_LOGS="$CACHE/logs/cluster"
KUBECONFIG_PATH="$CL_STATE/kubeconfig"
NODE_NAME=kserve-py-node
NODE_IP=10.250.0.1           # on link kservepy-node (an empty bridge): pods reach the apiserver here, nothing leaves the host
NODE_LINK=kservepy-node
BRIDGE=kservepy0
POD_CIDR=10.244.0.0/24
SERVICE_CIDR=10.96.0.0/16
API_SERVICE_IP=10.96.0.1
DNS_IP=10.96.0.10
ETCD_PORT=2479
CNI_NETWORK=kserve-py
CTR_SOCK="$CL_RUN/containerd.sock"
COMPONENTS=(kube-proxy kubelet kube-scheduler kube-controller-manager kube-apiserver etcd containerd)

# tool_path NAME: the pinned binary from hack/tools.sh (built by `hack/tools.sh cluster`)
tool_path() {
  local line
  line=$(bash "$ROOT/hack/tools.sh" paths | grep "^$1=") || die "hack/tools.sh knows no $1"
  echo "${line#*=}"
}
