#!/usr/bin/env bash
# `make cluster-up`: a one-node Kubernetes cluster on this machine, as root, from the pinned
# builds of hack/tools.sh, Debian's containerd/runc/CNI plugins and our images in the local
# registry. Cleans what an earlier (maybe killed) run left first. Writes a kubeconfig.
# Usage: up.sh            bring the cluster up (prints the kubeconfig path last)
#        up.sh kubeconfig print the kubeconfig path
source "$(dirname "$0")/env.sh"
source "$(dirname "$0")/pki.sh"
PKI="$CL_STATE/pki"
ETC="$CL_STATE/etc"

if [ "${1:-}" = kubeconfig ]; then echo "$KUBECONFIG_PATH"; exit 0; fi

start_bg() {  # start_bg NAME CMD...: run CMD in the background, pid in CL_RUN, log in CL_LOGS
  local name=$1
  shift
  nohup "$@" >"$CL_LOGS/$name.log" 2>&1 &
  echo $! >"$CL_RUN/$name.pid"
}

wait_for() {  # wait_for WHAT SECONDS [--alive NAME] CMD...: poll CMD until it succeeds;
  # with --alive, fail at once (showing its log) when component NAME exits meanwhile
  local what=$1 secs=$2 watched=""
  local deadline=$(($(date +%s) + secs))
  shift 2
  if [ "${1:-}" = --alive ]; then watched=$2; shift 2; fi
  while [ "$(date +%s)" -lt "$deadline" ]; do
    "$@" >/dev/null 2>&1 && return 0
    [ -z "$watched" ] || alive "$watched"
    sleep 0.25
  done
  die "timed out after ${secs}s waiting for $what (logs: $CL_LOGS)"
}

alive() {  # alive NAME: the component is still running (else show its log and fail)
  pid_alive "$CL_RUN/$1.pid" || { tail -15 "$CL_LOGS/$1.log" >&2; die "$1 exited (log: $CL_LOGS/$1.log)"; }
}

kubectl() { "$KUBECTL" --kubeconfig "$KUBECONFIG_PATH" "$@"; }

network() {
  ip link add "$NODE_LINK" type bridge   # an empty bridge: the "dummy" driver is not built into this kernel
  ip addr add "$NODE_IP/32" dev "$NODE_LINK"
  ip link set "$NODE_LINK" up
  mkdir -p "$ETC/cni/net.d" "$CL_STATE/cni/ipam"
  cat >"$ETC/cni/net.d/10-$CNI_NETWORK.conflist" <<JSON
{
  "cniVersion": "0.4.0",
  "name": "$CNI_NETWORK",
  "plugins": [
    {"type": "bridge", "bridge": "$BRIDGE", "isGateway": true, "ipMasq": true, "hairpinMode": true,
     "ipam": {"type": "host-local", "dataDir": "$CL_STATE/cni/ipam",
              "ranges": [[{"subnet": "$POD_CIDR"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
JSON
}

control_plane() {
  start_bg etcd "$(tool_path etcd)" --name kserve-py --data-dir "$CL_STATE/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" \
    --initial-advertise-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" \
    --initial-cluster "kserve-py=http://127.0.0.1:$((ETCD_PORT + 1))" \
    --listen-metrics-urls "" --log-level warn
  start_bg kube-apiserver "$(tool_path kube-apiserver)" \
    --etcd-servers "http://127.0.0.1:$ETCD_PORT" --bind-address "$NODE_IP" --advertise-address "$NODE_IP" \
    --secure-port 6443 --service-cluster-ip-range "$SERVICE_CIDR" \
    --client-ca-file "$PKI/ca.crt" --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" \
    --kubelet-client-certificate "$PKI/apiserver-kubelet-client.crt" \
    --kubelet-client-key "$PKI/apiserver-kubelet-client.key" \
    --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --kubelet-preferred-address-types InternalIP \
    --requestheader-client-ca-file "$PKI/front-proxy-ca.crt" --requestheader-allowed-names front-proxy-client \
    --requestheader-username-headers X-Remote-User --requestheader-group-headers X-Remote-Group \
    --requestheader-extra-headers-prefix X-Remote-Extra- \
    --proxy-client-cert-file "$PKI/front-proxy-client.crt" --proxy-client-key-file "$PKI/front-proxy-client.key" \
    --enable-aggregator-routing=true \
    --authorization-mode Node,RBAC --allow-privileged=true --profiling=false --v=1
  wait_for "kube-apiserver /readyz" 90 --alive kube-apiserver \
    curl -fsS --cacert "$PKI/ca.crt" "https://$NODE_IP:6443/readyz"
  start_bg kube-controller-manager "$(tool_path kube-controller-manager)" \
    --kubeconfig "$PKI/controller-manager.kubeconfig" \
    --authentication-kubeconfig "$PKI/controller-manager.kubeconfig" \
    --authorization-kubeconfig "$PKI/controller-manager.kubeconfig" \
    --service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt" \
    --cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key" \
    --use-service-account-credentials --leader-elect=false --bind-address 127.0.0.1 \
    --allocate-node-cidrs=false --profiling=false --v=1
  start_bg kube-scheduler "$(tool_path kube-scheduler)" --kubeconfig "$PKI/scheduler.kubeconfig" \
    --authentication-kubeconfig "$PKI/scheduler.kubeconfig" --authorization-kubeconfig "$PKI/scheduler.kubeconfig" \
    --leader-elect=false --bind-address 127.0.0.1 --profiling=false
}

containerd_up() {
  mkdir -p "$ETC/certs.d/$REGISTRY_NAME" "$ETC/certs.d/$REGISTRY_ADDR" "$CL_IMAGES"
  local h
  for h in "$REGISTRY_NAME" "$REGISTRY_ADDR"; do
    cat >"$ETC/certs.d/$h/hosts.toml" <<TOML
# $h is served by the local registry (hack/images/registry.sh), plain http on loopback
server = "http://$REGISTRY_ADDR"
[host."http://$REGISTRY_ADDR"]
  capabilities = ["pull", "resolve"]
TOML
  done
  cat >"$ETC/containerd.toml" <<TOML
version = 2
root = "$CL_IMAGES"
state = "$CL_RUN/containerd"
[grpc]
  address = "$CTR_SOCK"
[ttrpc]
  address = "$CTR_SOCK.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$REGISTRY_NAME/$IMAGE_REPO/pause:$IMAGE_TAG"
  stream_server_address = "127.0.0.1"
  enable_cdi = false
  # kubelet asks for oom_score_adj -998 for sandboxes; this machine refuses lowering it
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$ETC/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$CL_RUN/runc"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$ETC/certs.d"
TOML
  start_bg containerd /usr/bin/containerd --config "$ETC/containerd.toml"
  wait_for containerd 30 --alive containerd ctr --address "$CTR_SOCK" version
  # the socket answers before the CRI plugin has recovered its state; a kubelet started in that
  # window exits with "server is not initialized yet" (seen in CI). The CRI service logs this
  # line last before it marks itself initialized.
  wait_for "containerd's CRI service" 30 --alive containerd grep -q "Start streaming server" "$CL_LOGS/containerd.log"
}

refresh_images() {  # drop cached images of ours whose tag now points elsewhere in the registry
  # containerd's root is a cache that survives `make cluster-down`, and our tags stay 0.1.0 while
  # their content changes: with IfNotPresent the node would run a stale build. An image whose
  # digest still matches is kept (no pull); a changed one is pulled again from the registry.
  local ref digest want repo tag stale=0
  while read -r ref digest; do
    repo=${ref#"$REGISTRY_NAME/"}
    tag=${repo##*:}
    repo=${repo%:*}
    want=$(curl -fsSI "http://$REGISTRY_ADDR/v2/$repo/manifests/$tag" \
      -H "Accept: application/vnd.docker.distribution.manifest.v2+json" \
      -H "Accept: application/vnd.oci.image.manifest.v1+json" \
      -H "Accept: application/vnd.oci.image.index.v1+json" \
      -H "Accept: application/vnd.docker.distribution.manifest.list.v2+json" 2>/dev/null \
      | tr -d '\r' | awk 'tolower($1) == "docker-content-digest:" {print $2}') || want=""
    if [ "$want" != "$digest" ]; then
      ctr --address "$CTR_SOCK" -n k8s.io images rm "$ref" >/dev/null 2>&1 || true
      stale=$((stale + 1))
    fi
  done < <(ctr --address "$CTR_SOCK" -n k8s.io images ls 2>/dev/null \
    | awk -v p="$REGISTRY_NAME/" 'index($1, p) == 1 && $1 !~ /@/ {print $1, $3}')
  [ "$stale" = 0 ] || log "dropped $stale cached image(s) rebuilt since (pulled again on use)"
}

kubelet_up() {
  cat >"$ETC/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://$CTR_SOCK
authentication:
  anonymous: {enabled: false}
  x509: {clientCAFile: $PKI/ca.crt}
  webhook: {enabled: true}
authorization: {mode: Webhook}
clusterDomain: cluster.local
clusterDNS: [$DNS_IP]
resolvConf: $ETC/resolv.conf
failSwapOn: false
staticPodPath: ""
serializeImagePulls: false
evictionHard: {memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1%}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
tlsCertFile: $PKI/kubelet.crt
tlsPrivateKeyFile: $PKI/kubelet.key
YAML
  # pods with dnsPolicy Default (CoreDNS) get no upstream: nothing leaves this machine
  echo "nameserver 127.0.0.1" >"$ETC/resolv.conf"
  local attempt
  for attempt in 1 2 3; do
    start_bg kubelet "$(tool_path kubelet)" --config "$ETC/kubelet.yaml" \
      --kubeconfig "$PKI/kubelet.kubeconfig" --root-dir "$CL_STATE/kubelet" --cert-dir "$PKI" \
      --hostname-override "$NODE_NAME" --node-ip "$NODE_IP" --v=1
    sleep 2
    # the CRI may still refuse in the first moments (see containerd_up): then start again
    pid_alive "$CL_RUN/kubelet.pid" || ! grep -q "not initialized yet" "$CL_LOGS/kubelet.log" || {
      log "kubelet: containerd's CRI was not ready yet, starting it again ($attempt)"
      sleep 1
      continue
    }
    break
  done
  wait_for "node $NODE_NAME to be Ready" 120 --alive kubelet bash -c \
    "$KUBECTL --kubeconfig $KUBECONFIG_PATH get node $NODE_NAME \
     -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}' | grep -q True"
}

kube_proxy_up() {
  cat >"$ETC/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $PKI/kube-proxy.kubeconfig}
mode: iptables
clusterCIDR: $POD_CIDR
hostnameOverride: $NODE_NAME
bindAddress: $NODE_IP
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
nodePortAddresses: [$NODE_IP/32]
conntrack: {maxPerCore: 0}
iptables: {localhostNodePorts: false}
YAML
  start_bg kube-proxy "$(tool_path kube-proxy)" --config "$ETC/kube-proxy.yaml"
}

# The cluster add-ons (CoreDNS, metrics-server) are applied as soon as the apiserver answers,
# so their pods start the moment the node is Ready; up waits for them last.
addons_apply() {
  sed -e "s|@DNS_IP@|$DNS_IP|g" -e "s|@IMAGE@|$REGISTRY_NAME/$IMAGE_REPO/coredns:$IMAGE_TAG|g" \
    "$ROOT/hack/cluster/coredns.yaml" | kubectl apply -f - >/dev/null
  sed -e "s|@IMAGE@|$REGISTRY_NAME/$IMAGE_REPO/metrics-server:$IMAGE_TAG|g" \
    -e "s|@CA_BUNDLE@|$(base64 -w0 "$PKI/ca.crt")|g" \
    -e "s|@TLS_CRT@|$(base64 -w0 "$PKI/metrics-server.crt")|g" \
    -e "s|@TLS_KEY@|$(base64 -w0 "$PKI/metrics-server.key")|g" \
    "$ROOT/hack/cluster/metrics-server.yaml" | kubectl apply -f - >/dev/null
}

addons_wait() {
  wait_for "CoreDNS rollout" 120 kubectl -n kube-system rollout status deployment/coredns --timeout=2s
  # Available: the apiserver reaches metrics-server, which holds two scrapes of the kubelet
  wait_for "APIService v1beta1.metrics.k8s.io Available (metrics-server)" 120 \
    kubectl wait apiservice/v1beta1.metrics.k8s.io --for=condition=Available --timeout=2s
}

main() {
  local t0
  t0=$(date +%s)
  apt_need containerd runc containernetworking-plugins iptables conntrack iproute2 openssl curl
  bash "$ROOT/hack/tools.sh" cluster >/dev/null || die "hack/tools.sh cluster failed (kubelet and friends)"
  KUBECTL=$(tool_path kubectl)
  local image
  for image in pause coredns metrics-server; do
    curl -fsS "http://$REGISTRY_ADDR/v2/$IMAGE_REPO/$image/manifests/$IMAGE_TAG" -o /dev/null \
      -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
      || die "no $image:$IMAGE_TAG image in the registry at $REGISTRY_ADDR: run make images first"
  done
  # leftovers of a killed run are removed; a cluster that is still running is someone's: refuse
  if pid_alive "$CL_RUN/kube-apiserver.pid" || pid_alive "$CL_RUN/kubelet.pid"; then
    die "a local cluster is already running (pids in $CL_RUN): make cluster-down first"
  fi
  bash "$ROOT/hack/cluster/down.sh" >/dev/null
  # a failed up removes what it started, so the next up does not take it for a running cluster
  trap 'rc=$?; [ $rc = 0 ] || bash "$ROOT/hack/cluster/down.sh" >/dev/null 2>&1; exit $rc' EXIT
  mkdir -p "$CL_STATE" "$CL_RUN" "$CL_LOGS" "$ETC"
  chmod 700 "$CL_STATE"
  make_pki
  cp "$PKI/admin.kubeconfig" "$KUBECONFIG_PATH"
  network
  log "control plane (etcd, kube-apiserver, controller-manager, scheduler)"
  control_plane
  addons_apply
  log "containerd + kubelet"
  containerd_up
  refresh_images
  kubelet_up
  kube_proxy_up
  alive kube-controller-manager && alive kube-scheduler && alive kube-proxy
  log "CoreDNS, metrics-server"
  addons_wait
  log "up in $(($(date +%s) - t0)) s: $("$KUBECTL" version -o json --kubeconfig "$KUBECONFIG_PATH" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["serverVersion"]["gitVersion"])')"
  log "export KUBECONFIG=$KUBECONFIG_PATH"
  echo "$KUBECONFIG_PATH"
}

main "$@"
