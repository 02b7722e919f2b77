#!/usr/bin/env bash
# Installs the project's pinned tools, built from the Go module proxy (no release downloads can
# be reached here), into a cache outside the clone keyed by version, and links them into bin/.
#
#   hack/tools.sh            helm + helm-unittest, etcd, kube-apiserver + kubectl, Gateway API
#                            and KEDA CRDs (make tools)
#   hack/tools.sh helm       helm + helm-unittest only
#   hack/tools.sh cluster    the above + kube-controller-manager, kube-scheduler, kubelet, kube-proxy
#   hack/tools.sh kind       kind, for users who have internet
#   hack/tools.sh kind-node  kind + what our kind node image (hack/kind/) is built from: kubeadm,
#                            containerd v2 (containerd, ctr, shim), crictl, local-path-provisioner
#                            and our kindnet agent (hack/kind/kindnet)
#   hack/tools.sh metrics-server   metrics-server, for its image (hack/images/build.sh)
#   hack/tools.sh gateway-api      the Gateway API CRDs (standard channel) only: one YAML file per
#                            CRD in bin/gateway-api-crds/ (`kubectl apply -f bin/gateway-api-crds/`)
#   hack/tools.sh keda-crds        KEDA's CRDs (ScaledObject, ...) only: one YAML file per CRD in
#                            bin/keda-crds/, for the apiserver tests
#   hack/tools.sh traefik   Traefik, the local cluster's gateway, for its image (hack/images/build.sh)
#   hack/tools.sh keda       KEDA's operator and metrics API server, for the local cluster's keda image
#   hack/tools.sh prometheus the Prometheus server, for the local cluster's prometheus image
#   hack/tools.sh paths      print NAME=PATH for every tool this script knows (installed or not)
#
# Each tool is built into a temporary directory and moved into place; `.complete` is written
# last, so a killed build is redone and never half-used. A failed build names the tool, the
# version and why, and the script exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/versions.env
repo=$PWD
cache="${XDG_CACHE_HOME:-$HOME/.cache}/kserve-py"
tools="$cache/tools"
logs="$cache/logs"
# One Go build and module cache for every tool: kube-apiserver, kubectl and the cluster
# components share most of their packages, so the second build reuses the first's work.
export GOMODCACHE="$cache/go/mod" GOCACHE="$cache/go/build"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-trimpath -buildvcs=false"

helm_dir="$tools/helm-$HELM_VERSION"
unittest_dir="$tools/helm-unittest-$HELM_UNITTEST_VERSION"
etcd_dir="$tools/etcd-$ETCD_VERSION"
kube_dir="$tools/kubernetes-$KUBERNETES_VERSION"
cluster_dir="$tools/kubernetes-cluster-$KUBERNETES_VERSION"
kind_dir="$tools/kind-$KIND_VERSION"
kubeadm_dir="$tools/kubeadm-$KUBERNETES_VERSION"
containerd_dir="$tools/containerd-$KIND_CONTAINERD_VERSION"
crictl_dir="$tools/crictl-$KIND_CRICTL_VERSION"
local_path_dir="$tools/local-path-provisioner-$KIND_LOCAL_PATH_PROVISIONER_VERSION"
# keyed by its source: our own code
kindnet_dir="$tools/kindnet-$(cat hack/kind/kindnet/go.mod hack/kind/kindnet/go.sum hack/kind/kindnet/main.go | sha256sum | cut -c1-12)"
metrics_server_dir="$tools/metrics-server-$METRICS_SERVER_VERSION"
gateway_api_dir="$tools/gateway-api-$GATEWAY_API_VERSION"
# keyed by the patches and the wrapper too: a changed patch is a different build
traefik_dir="$tools/traefik-$TRAEFIK_VERSION-$(cat hack/tools/traefik/go.mod hack/tools/traefik/patches/*.patch | sha256sum | cut -c1-12)"
keda_crds_dir="$tools/keda-crds-$KEDA_VERSION"
keda_dir="$tools/keda-$KEDA_VERSION-$(cat hack/tools/keda/go.mod hack/tools/keda/patches/*.patch | sha256sum | cut -c1-12)"
prometheus_dir="$tools/prometheus-$PROMETHEUS_VERSION"
CLUSTER_COMPONENTS=(kube-controller-manager kube-scheduler kubelet kube-proxy)

say() { echo "tools: $*" >&2; }

# install NAME VERSION DIR BUILD_FN: run BUILD_FN TMPDIR unless DIR is complete, then move it in.
install() {
  local name=$1 version=$2 dir=$3 build=$4
  if [ -f "$dir/.complete" ]; then
    return 0
  fi
  mkdir -p "$tools" "$logs"
  local tmp log t0
  tmp=$(mktemp -d "$tools/.$name-$version.XXXXXX")
  chmod 755 "$tmp"   # mktemp makes it private; the tools are for every user
  log="$logs/$name-$version.log"
  t0=$(date +%s)
  say "building $name $version (log: $log)"
  if ! "$build" "$tmp" >"$log" 2>&1; then
    rm -rf "$tmp"
    say "FAILED: $name $version could not be built; last lines of $log:"
    tail -n 15 "$log" | sed 's/^/    /' >&2
    say "FAILED: $name $version (see why above; nothing was installed)"
    exit 1
  fi
  rm -rf "$dir"
  mv "$tmp" "$dir"
  touch "$dir/.complete"
  say "installed $name $version in $(( $(date +%s) - t0 ))s -> $dir"
}

# gobuild MODULE_DIR OUT_DIR LDFLAGS PACKAGE...: build packages of a wrapper module (hack/tools/*).
gobuild() {
  local module=$1 out=$2 ldflags=$3
  shift 3
  (cd "$repo/hack/tools/$module" && go build -ldflags="-s -w $ldflags" -o "$out/" "$@")
}

build_helm() {
  local out=$1
  GOBIN="$out/bin" go install -ldflags="-s -w \
    -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION \
    -X helm.sh/helm/v3/internal/version.gitTreeState=clean \
    -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 \
    -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$(kube_minor) \
    -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 \
    -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$(kube_minor)" \
    "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
}

# The plugin's own install hook downloads a release binary, which cannot be reached here:
# build the binary and write a plugin.yaml that runs it, with no hooks.
build_helm_unittest() {
  local plugin=$1/plugins/helm-unittest
  mkdir -p "$plugin"
  gobuild helm-unittest "$plugin" "" github.com/helm-unittest/helm-unittest/cmd/helm-unittest
  mv "$plugin/helm-unittest" "$plugin/untt"
  cat >"$plugin/plugin.yaml" <<EOF
name: "unittest"
version: "${HELM_UNITTEST_VERSION#v}"
usage: "unit test helm charts"
description: "helm-unittest, built from its Go module by hack/tools.sh"
ignoreFlags: false
command: "\$HELM_PLUGIN_DIR/untt"
EOF
}

build_etcd() {
  local out=$1/bin
  mkdir -p "$out"
  (cd "$repo/hack/tools/etcd" && go build -ldflags="-s -w" -o "$out/etcd" go.etcd.io/etcd/server/v3)
}

kube_minor() { local v=${KUBERNETES_VERSION#v1.}; echo "${v%%.*}"; }

# The same -X flags as Kubernetes' own build, so `kubectl version` reports the release.
kube_ldflags() {
  local pkg flags=""
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1"
    flags+=" -X $pkg.gitMinor=$(kube_minor) -X $pkg.gitTreeState=clean"
    flags+=" -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  echo "$flags"
}

build_kube() {
  mkdir -p "$1/bin"
  gobuild kubernetes "$1/bin" "$(kube_ldflags)" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl
}

build_cluster() {
  mkdir -p "$1/bin"
  gobuild kubernetes "$1/bin" "$(kube_ldflags)" "${CLUSTER_COMPONENTS[@]/#/k8s.io/kubernetes/cmd/}"
}

build_metrics_server() {
  mkdir -p "$1/bin"
  gobuild metrics-server "$1/bin" "-X k8s.io/client-go/pkg/version.gitVersion=$METRICS_SERVER_VERSION \
    -X k8s.io/client-go/pkg/version.buildDate=1970-01-01T00:00:00Z" sigs.k8s.io/metrics-server/cmd/metrics-server
}

# patched_module WRAPPER MODULE VERSION OUT: MODULE@VERSION copied out of the module cache into
# OUT/src/patched, hack/tools/WRAPPER/patches/*.patch applied, and OUT/src/module a copy of the
# wrapper module that `replace`s MODULE by the patched copy (same requirements, so the same go.sum);
# build in OUT/src/module, then remove OUT/src. A patch that no longer applies exactly (no fuzz:
# a version bump) fails the build.
patched_module() {
  local wrapper=$repo/hack/tools/$1 module=$2 version=$3 out=$4 json src patch
  command -v patch >/dev/null || { echo "patch is not on PATH (apt-get install patch)"; return 1; }
  json=$(cd "$wrapper" && go mod download -json "$module@$version")
  src=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' <<<"$json")
  [ -d "$src" ] || { echo "no module directory for $module (go mod download said: $json)"; return 1; }
  mkdir -p "$out/src/module"
  cp -r "$src" "$out/src/patched"
  chmod -R u+w "$out/src/patched"   # the module cache is read-only
  for patch in "$wrapper"/patches/*.patch; do
    echo "applying ${patch#"$repo"/}"
    patch -d "$out/src/patched" -p1 --forward --batch --fuzz=0 --no-backup-if-mismatch -r - <"$patch" ||
      { echo "${patch#"$repo"/} does not apply to $module $version"; return 1; }
  done
  cp "$wrapper/go.mod" "$wrapper/go.sum" "$out/src/module/"
  (cd "$out/src/module" && go mod edit -replace "$module=$out/src/patched")
}

# Traefik less what the local cluster never runs (hack/tools/traefik/patches/*.patch; each one
# says what it leaves out and why): about half of its packages, among them the slowest to compile.
# Traefik's release build stamps its version the same way (`traefik version`, the dashboard).
build_traefik() {
  local out=$1
  patched_module traefik github.com/traefik/traefik/v3 "$TRAEFIK_VERSION" "$out"
  mkdir -p "$out/bin"
  (cd "$out/src/module" &&
    go build -ldflags="-s -w -X github.com/traefik/traefik/v3/pkg/version.Version=$TRAEFIK_VERSION \
      -X github.com/traefik/traefik/v3/pkg/version.BuildDate=1970-01-01T00:00:00Z" \
      -o "$out/bin/" github.com/traefik/traefik/v3/cmd/traefik)
  rm -rf "$out/src"
}

# KEDA with only the scalers the local cluster uses and without the cloud SDKs their neighbours
# pull in (hack/tools/keda/patches/*.patch; each one says what it leaves out and why): 1,604
# packages instead of 2,634. Both binaries in one `go build`: they link the same scalers.
build_keda() {
  local out=$1
  patched_module keda github.com/kedacore/keda/v2 "$KEDA_VERSION" "$out"
  mkdir -p "$out/bin"
  (cd "$out/src/module" &&
    go build -ldflags="-s -w -X github.com/kedacore/keda/v2/version.Version=$KEDA_VERSION" \
      -o "$out/bin/" github.com/kedacore/keda/v2/cmd/operator github.com/kedacore/keda/v2/cmd/adapter)
  mv "$out/bin/operator" "$out/bin/keda"
  mv "$out/bin/adapter" "$out/bin/keda-adapter"
  rm -rf "$out/src"
}

# Service discovery for Kubernetes only (Prometheus' own build tags drop the ~25 cloud ones);
# no `builtinassets` tag, so no web UI is embedded (the API and /metrics are all we use).
build_prometheus() {
  mkdir -p "$1/bin"
  local v=${PROMETHEUS_VERSION#v0.} pkg=github.com/prometheus/common/version
  # module v0.3XY.Z is Prometheus 3.XY.Z
  v="3.$((10#${v%%.*} - 300)).${v#*.}"
  (cd "$repo/hack/tools/prometheus" && go build -tags remove_all_sd,enable_kubernetes_sd \
    -ldflags="-s -w -X $pkg.Version=$v -X $pkg.Branch=release -X $pkg.BuildDate=19700101-00:00:00" \
    -o "$1/bin/prometheus" github.com/prometheus/prometheus/cmd/prometheus)
}

build_kind() {
  GOBIN="$1/bin" go install -ldflags="-s -w" "sigs.k8s.io/kind@$KIND_VERSION"
}

# kubeadm, which kind bootstraps every node with: the same wrapper module and build cache as
# the cluster binaries, so it reuses most of their compiled packages.
build_kubeadm() {
  mkdir -p "$1/bin"
  gobuild kubernetes "$1/bin" "$(kube_ldflags)" k8s.io/kubernetes/cmd/kubeadm
}

# containerd v2 as kind's base image has it (Debian's 1.6 `ctr images import` lacks --label, which
# kind's node image build passes). Static: the snapshotters that need cgo are left out, as kind does.
build_containerd() {
  local v=github.com/containerd/containerd/v2
  mkdir -p "$1/bin"
  (cd "$repo/hack/tools/containerd" && go build -tags "no_aufs no_zfs no_btrfs no_devmapper" -ldflags="-s -w \
    -X $v/version.Version=$KIND_CONTAINERD_VERSION -X $v/version.Revision=module-proxy" -o "$1/bin/" \
    "$v/cmd/containerd" "$v/cmd/ctr" "$v/cmd/containerd-shim-runc-v2")
}

build_crictl() {
  GOBIN="$1/bin" go install -ldflags="-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=$KIND_CRICTL_VERSION" \
    "sigs.k8s.io/cri-tools/cmd/crictl@$KIND_CRICTL_VERSION"
}

build_local_path() {
  GOBIN="$1/bin" go install -ldflags="-s -w -X main.VERSION=$KIND_LOCAL_PATH_PROVISIONER_VERSION" \
    "github.com/rancher/local-path-provisioner@$KIND_LOCAL_PATH_PROVISIONER_VERSION"
}

build_kindnet() {
  mkdir -p "$1/bin"
  (cd "$repo/hack/kind/kindnet" && go build -ldflags="-s -w" -o "$1/bin/kindnet" .)
}

kind_node() {
  install kind "$KIND_VERSION" "$kind_dir" build_kind
  link "$kind_dir/bin/kind" kind
  install kubeadm "$KUBERNETES_VERSION" "$kubeadm_dir" build_kubeadm
  install containerd "$KIND_CONTAINERD_VERSION" "$containerd_dir" build_containerd
  install crictl "$KIND_CRICTL_VERSION" "$crictl_dir" build_crictl
  install local-path-provisioner "$KIND_LOCAL_PATH_PROVISIONER_VERSION" "$local_path_dir" build_local_path
  install kindnet "${kindnet_dir##*-}" "$kindnet_dir" build_kindnet
}

# Not a build: CRDs are YAML in a module's zip, fetched through the same module cache and proxy
# as every Go tool (the zip's checksum is verified against sum.golang.org like any module).
# fetch_crds MODULE@VERSION SUBDIR OUT: copy SUBDIR/*.yaml of the module into OUT.
fetch_crds() {
  local module=$1 subdir=$2 out=$3 json src
  json=$(cd "$(dirname "$out")" && go mod download -json "$module")
  src=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' <<<"$json")/$subdir
  [ -d "$src" ] || { echo "no $subdir in $module (go mod download said: $json)"; return 1; }
  mkdir -p "$out"
  cp "$src"/*.yaml "$out/"
  chmod 644 "$out"/*.yaml   # the module cache is read-only
}

fetch_gateway_api() {
  fetch_crds "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION" config/crd/standard "$1/standard"
}

gateway_api() {
  install gateway-api "$GATEWAY_API_VERSION" "$gateway_api_dir" fetch_gateway_api
  link "$gateway_api_dir/standard" gateway-api-crds
}

# ScaledObject, ScaledJob, (Cluster)TriggerAuthentication and the eventing CRDs, as KEDA's
# release manifest installs them
fetch_keda_crds() {
  fetch_crds "github.com/kedacore/keda/v2@$KEDA_VERSION" config/crd/bases "$1/bases"
}

keda_crds() {
  install keda-crds "$KEDA_VERSION" "$keda_crds_dir" fetch_keda_crds
  link "$keda_crds_dir/bases" keda-crds
}

link() {  # link TARGET NAME: bin/NAME -> TARGET
  mkdir -p "$repo/bin"
  ln -sfn "$1" "$repo/bin/$2"
}

# bin/helm is a small script rather than a link: it points HELM_PLUGINS at the pinned plugin
# directory (unless the caller set one), so the user's own helm data is never written to.
write_helm_wrapper() {
  mkdir -p "$repo/bin"
  local tmp="$repo/bin/.helm.$$"
  cat >"$tmp" <<EOF
#!/bin/sh
# Written by hack/tools.sh: helm $HELM_VERSION with helm-unittest $HELM_UNITTEST_VERSION.
HELM_PLUGINS="\${HELM_PLUGINS:-$unittest_dir/plugins}" exec "$helm_dir/bin/helm" "\$@"
EOF
  chmod +x "$tmp"
  mv -f "$tmp" "$repo/bin/helm"
}

need_go() {
  command -v go >/dev/null || { say "FAILED: go is not on PATH (needed to build every tool)"; exit 1; }
}

helm_tools() {
  install helm "$HELM_VERSION" "$helm_dir" build_helm
  install helm-unittest "$HELM_UNITTEST_VERSION" "$unittest_dir" build_helm_unittest
  write_helm_wrapper
}

core() {
  helm_tools
  install etcd "$ETCD_VERSION" "$etcd_dir" build_etcd
  link "$etcd_dir/bin/etcd" etcd
  install kubernetes "$KUBERNETES_VERSION" "$kube_dir" build_kube
  link "$kube_dir/bin/kube-apiserver" kube-apiserver
  link "$kube_dir/bin/kubectl" kubectl
  gateway_api
  keda_crds
}

cluster() {
  install kubernetes-cluster "$KUBERNETES_VERSION" "$cluster_dir" build_cluster
  local c
  for c in "${CLUSTER_COMPONENTS[@]}"; do link "$cluster_dir/bin/$c" "$c"; done
}

paths() {
  echo "helm=$repo/bin/helm"
  echo "helm_plugins=$unittest_dir/plugins"
  echo "etcd=$etcd_dir/bin/etcd"
  echo "kube-apiserver=$kube_dir/bin/kube-apiserver"
  echo "kubectl=$kube_dir/bin/kubectl"
  local c
  for c in "${CLUSTER_COMPONENTS[@]}"; do echo "$c=$cluster_dir/bin/$c"; done
  echo "kind=$kind_dir/bin/kind"
  echo "kind-module=$GOMODCACHE/sigs.k8s.io/kind@$KIND_VERSION"
  echo "kubeadm=$kubeadm_dir/bin/kubeadm"
  echo "containerd-bin=$containerd_dir/bin"
  echo "crictl=$crictl_dir/bin/crictl"
  echo "local-path-provisioner=$local_path_dir/bin/local-path-provisioner"
  echo "kindnet=$kindnet_dir/bin/kindnet"
  echo "metrics-server=$metrics_server_dir/bin/metrics-server"
  echo "gateway-api-crds=$gateway_api_dir/standard"
  echo "traefik=$traefik_dir/bin/traefik"
  echo "keda-crds=$keda_crds_dir/bases"
  echo "keda=$keda_dir/bin/keda"
  echo "keda-adapter=$keda_dir/bin/keda-adapter"
  echo "prometheus=$prometheus_dir/bin/prometheus"
}

main() {
  local mode=${1:-core} t0
  t0=$(date +%s)
  case $mode in
    core) need_go; core ;;
    helm) need_go; helm_tools ;;
    cluster) need_go; core; cluster ;;
    kind) need_go; install kind "$KIND_VERSION" "$kind_dir" build_kind; link "$kind_dir/bin/kind" kind ;;
    kind-node) need_go; kind_node ;;
    metrics-server) need_go; install metrics-server "$METRICS_SERVER_VERSION" "$metrics_server_dir" build_metrics_server ;;
    gateway-api) need_go; gateway_api ;;
    keda-crds) need_go; keda_crds ;;
    keda) need_go; install keda "$KEDA_VERSION" "$keda_dir" build_keda ;;
    prometheus) need_go; install prometheus "$PROMETHEUS_VERSION" "$prometheus_dir" build_prometheus ;;
    traefik) need_go; install traefik "$TRAEFIK_VERSION" "$traefik_dir" build_traefik ;;
    paths) paths; return 0 ;;
    *) say "unknown mode '$mode' (core | helm | cluster | kind | kind-node | metrics-server | gateway-api | keda-crds | keda | prometheus | traefik | paths)"; exit 2 ;;
  esac
  say "$mode ready in $(( $(date +%s) - t0 ))s (bin/)"
}

main "$@"
