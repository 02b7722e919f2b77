#!/usr/bin/env bash
# `make kind-up` / `make kind-down`: the tutorial's `kind create cluster --name=mlops-kserve-demo`
# on our own node image (hack/kind/image.sh) and our dockerd, two nodes (hack/kind/cluster.yaml),
# then our images loaded into both nodes with `kind load docker-image` (the local registry on
# 127.0.0.1:5000 is not reachable from inside a node), so both charts install with their defaults.
# The kubeconfig is written to a file of its own, not ~/.kube/config.
# Usage: up.sh [up|down|kubeconfig]
source "$(dirname "$0")/../images/common.sh"
LOG_TAG=kind
NAME=${KIND_CLUSTER_NAME:-mlops-kserve-demo}
KUBECONFIG_PATH="$CACHE/kind/kubeconfig-$NAME"
# the images the charts and the e2e fixtures run (make images builds them)
LOAD=(controller model-server model-server-xgboost model-server-lightgbm storage-initializer agent router
  gcs-emulator https-server)
kind_() { DOCKER_HOST="unix://$DOCKER_SOCK" KUBECONFIG="$KUBECONFIG_PATH" "$ROOT/bin/kind" "$@"; }

up() {
  local image t0 t1 refs=() i
  image=$(bash "$ROOT/hack/kind/image.sh") || die "the node image could not be built (make kind-image)"
  "$ROOT/hack/images/dockerd.sh" start
  mkdir -p "$(dirname "$KUBECONFIG_PATH")"
  if kind_ get clusters 2>/dev/null | grep -qx "$NAME"; then
    die "kind cluster $NAME already exists: make kind-down first"
  fi
  t0=$(date +%s)
  log "kind create cluster --name=$NAME --image $image --config hack/kind/cluster.yaml"
  kind_ create cluster --name="$NAME" --image "$image" --config "$ROOT/hack/kind/cluster.yaml" --wait 5m \
    || die "kind create cluster failed (logs: kind export logs --name=$NAME)"
  t1=$(date +%s)
  for i in "${LOAD[@]}"; do refs+=("$REGISTRY_NAME/$IMAGE_REPO/$i:$IMAGE_TAG"); done
  kind_ load docker-image --name="$NAME" "${refs[@]}" >/dev/null || die "kind load docker-image failed"
  log "cluster $NAME: created in $((t1 - t0)) s, ${#refs[@]} images loaded in $(($(date +%s) - t1)) s"
  echo "$KUBECONFIG_PATH"
}

down() {
  local t0
  t0=$(date +%s)
  "$ROOT/hack/images/dockerd.sh" status >/dev/null 2>&1 || { log "dockerd is not running: no kind cluster"; return 0; }
  kind_ delete cluster --name="$NAME"
  # kind leaves its docker network; remove it when no container uses it any more
  if ! dk network inspect kind -f '{{len .Containers}}' 2>/dev/null | grep -qv '^0$'; then
    dk network rm kind >/dev/null 2>&1 || true
  fi
  rm -f "$KUBECONFIG_PATH"
  log "cluster $NAME deleted in $(($(date +%s) - t0)) s"
}

case "${1:-up}" in
  up) up ;;
  down) down ;;
  kubeconfig) echo "$KUBECONFIG_PATH" ;;
  *) die "usage: $0 [up|down|kubeconfig]" ;;
esac
