#!/usr/bin/env bash
# `make images`: build every image from Debian packages and pinned PyPI wheels, push them and
# the charts to the local registry. An image whose inputs (Dockerfile, wheels, our sources, base)
# did not change since its last push is not rebuilt.
# Usage: build.sh [NAME...]   (default: all; names as in the table below)
source "$(dirname "$0")/common.sh"
source "$(dirname "$0")/wheels.sh"
LOG_TAG=images

# name | Dockerfile | context recipe (see ctx_* below) | build args
IMAGES=(
  "pause|hack/images/pause/Dockerfile|ctx_pause|"
  "model-server|server/Dockerfile|ctx_server model-server sklearn|FRAMEWORK=sklearn"
  "model-server-xgboost|server/Dockerfile|ctx_server model-server-xgboost xgboost|FRAMEWORK=xgboost"
  "model-server-lightgbm|server/Dockerfile|ctx_server model-server-lightgbm lightgbm|FRAMEWORK=lightgbm"
  "model-server-onnx|server/Dockerfile|ctx_server model-server-onnx onnx|FRAMEWORK=onnx"
  # TF Serving's and Triton's runtimes: TensorFlow and onnxruntime (the [triton] extra)
  "model-server-tensorflow|server/Dockerfile|ctx_server model-server-tensorflow triton|FRAMEWORK=triton"
  # kserve-torchserve and kserve-huggingfaceserver: torch (CUDA build, runs on the CPU) + transformers
  "model-server-torch|server/Dockerfile.torch|ctx_torch|"
  "storage-initializer|server/Dockerfile.storage-initializer|ctx_storage|"
  # the logger/batcher sidecar: the storage initializer's context and layers, its own entry point
  "agent|server/Dockerfile.agent|ctx_storage|"
  "controller|controller/Dockerfile|ctx_controller|"
  "router|server/Dockerfile.router|ctx_router|"
  "gcs-emulator|hack/images/fixtures/gcs-emulator/Dockerfile|ctx_gcs|"
  "https-server|hack/images/fixtures/https-server/Dockerfile|ctx_https|"
  "coredns|hack/cluster/coredns/Dockerfile|ctx_coredns|"
  "metrics-server|hack/images/metrics-server/Dockerfile|ctx_metrics_server|"
  "traefik|hack/images/traefik/Dockerfile|ctx_traefik|"
  # autoscalerClass keda: KEDA's operator + metrics API server, and the Prometheus it queries
  "keda|hack/images/keda/Dockerfile|ctx_keda|"
  "prometheus|hack/images/prometheus/Dockerfile|ctx_prometheus|"
)

# ctx_* CTX [ARGS]: fill the build context directory CTX (empty on entry).
ctx_wheels() {  # CTX LOCKNAME REQFILE: the lock's wheels as hard links, the lock as locks/REQFILE
  mkdir -p "$1/wheels" "$1/locks"
  download "$LOCKS/$2.txt"
  wheel_paths "$LOCKS/$2.txt" | xargs -r ln -t "$1/wheels"
  cp "$LOCKS/$2.txt" "$1/locks/$3"
}
ctx_own() { mkdir -p "$1/own" && ln -t "$1/own" "$(own_wheel "$2")"; }
ctx_pause() {
  local key bin
  key=$(hash_files "$ROOT/hack/images/pause/pause.c")
  bin="$IMG_CACHE/pause-$key"
  if [ ! -x "$bin" ]; then
    apt_need gcc libc6-dev
    gcc -Os -static -s -o "$bin.tmp" "$ROOT/hack/images/pause/pause.c" && mv "$bin.tmp" "$bin"
  fi
  cp "$bin" "$1/pause"
}
ctx_server() {  # CTX LOCKNAME FRAMEWORK
  lock "$2" server/pyproject.toml "$3"
  ctx_wheels "$1" "$2" "requirements-$3.txt"
  ctx_own "$1" server
}
ctx_torch() {  # CTX: files, not wheels (see server/Dockerfile.torch)
  lock model-server-torch server/pyproject.toml torch
  [ -x "$UV" ] || bash "$ROOT/hack/venv.sh" >/dev/null
  # from the uv cache hack/torch-venv.sh fills (hard links: torch's ~3 GB downloaded once, not
  # copied); without `triton`, torch.compile's GPU kernel compiler (1 GB), which serving never
  # imports (torch.export.load logs that flop counting of triton kernels is off)
  grep -v '^triton==' "$LOCKS/model-server-torch.txt" >"$1/requirements.txt"
  UV_CACHE_DIR="$CACHE/uv" UV_LINK_MODE=hardlink "$UV" pip install -q --no-deps \
    --python "$(command -v python3)" --target "$1/site-packages" -r "$1/requirements.txt"
  # what a served model never runs (as server/Dockerfile drops): test suites, headers and
  # C/C++/Cython sources, type stubs, static libraries (for linking against CUDA), console scripts
  (cd "$1/site-packages" \
    && find . -type d -name tests -prune -exec rm -rf {} + \
    && find . -type f \( -name '*.h' -o -name '*.hpp' -o -name '*.cuh' -o -name '*.c' -o -name '*.cc' \
      -o -name '*.cpp' -o -name '*.pxd' -o -name '*.pxi' -o -name '*.pyx' -o -name '*.pyi' \
      -o -name '*.a' \) -delete \
    && rm -rf bin)
  mkdir -p "$1/app"
  python3 -m zipfile -e "$(own_wheel server)" "$1/app"
}
ctx_storage() {
  # the storage fetchers' own extra, once server/pyproject.toml defines one
  if grep -qE '^storage *=' "$ROOT/server/pyproject.toml"; then
    lock storage-initializer server/pyproject.toml storage
  else
    lock storage-initializer server/pyproject.toml
  fi
  ctx_wheels "$1" storage-initializer requirements.txt
  ctx_own "$1" server
}
ctx_router() {  # the server's base dependencies only: no model frameworks, no gRPC
  lock router server/pyproject.toml
  ctx_wheels "$1" router requirements.txt
  ctx_own "$1" server
}
ctx_controller() {
  lock controller controller/pyproject.toml
  ctx_wheels "$1" controller requirements.txt
  ctx_own "$1" controller
}
ctx_gcs() {
  lock gcs-emulator hack/images/fixtures/gcs-emulator/requirements.in
  ctx_wheels "$1" gcs-emulator requirements.txt
}
ctx_https() { cp "$ROOT/hack/images/fixtures/https-server/serve.py" "$1/"; }
ctx_coredns() {  # a static CoreDNS with our plugin list, from the Go module proxy, cached by source
  local src="$ROOT/hack/cluster/coredns" key bin
  key=$(hash_files "$src/main.go" "$src/go.mod" "$src/go.sum")
  bin="$IMG_CACHE/coredns-$key"
  if [ ! -x "$bin" ]; then
    log "coredns: go build (the first build takes minutes)"
    (cd "$src" && GOMODCACHE="$CACHE/go/mod" GOCACHE="$CACHE/go/build" GOTOOLCHAIN=local \
      CGO_ENABLED=0 GOFLAGS="-trimpath -buildvcs=false" go build -ldflags="-s -w" -o "$bin.tmp" .) \
      >"$IMG_CACHE/coredns-build.log" 2>&1 \
      || { tail -15 "$IMG_CACHE/coredns-build.log" >&2; die "coredns: go build failed"; }
    mv "$bin.tmp" "$bin"
  fi
  cp "$bin" "$1/coredns"
}

ctx_metrics_server() {  # the pinned static build of hack/tools.sh (cached by version)
  bash "$ROOT/hack/tools.sh" metrics-server >/dev/null || die "metrics-server: hack/tools.sh metrics-server failed"
  cp "$(bash "$ROOT/hack/tools.sh" paths | sed -n 's/^metrics-server=//p')" "$1/metrics-server"
}

ctx_traefik() {  # the pinned static build of hack/tools.sh (cached by version)
  bash "$ROOT/hack/tools.sh" traefik >/dev/null || die "traefik: hack/tools.sh traefik failed"
  cp "$(bash "$ROOT/hack/tools.sh" paths | sed -n 's/^traefik=//p')" "$1/traefik"
}

ctx_keda() {  # both binaries of the pinned slim build of hack/tools.sh (cached by version and patches)
  bash "$ROOT/hack/tools.sh" keda >/dev/null || die "keda: hack/tools.sh keda failed"
  local paths
  paths=$(bash "$ROOT/hack/tools.sh" paths)
  cp "$(sed -n 's/^keda=//p' <<<"$paths")" "$(sed -n 's/^keda-adapter=//p' <<<"$paths")" "$1/"
}

ctx_prometheus() {  # the pinned static build of hack/tools.sh (cached by version)
  bash "$ROOT/hack/tools.sh" prometheus >/dev/null || die "prometheus: hack/tools.sh prometheus failed"
  cp "$(bash "$ROOT/hack/tools.sh" paths | sed -n 's/^prometheus=//p')" "$1/prometheus"
}

in_registry() {  # NAME: true if the registry holds NAME:IMAGE_TAG
  curl -fsS -o /dev/null -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "http://$REGISTRY_ADDR/v2/$IMAGE_REPO/$1/manifests/$IMAGE_TAG"
}

# build_one NAME DOCKERFILE RECIPE ARGS BASE
build_one() {
  local name=$1 dockerfile=$2 recipe=$3 args=$4 base=$5
  local ctx="$IMG_CACHE/ctx/$name" key stamp="$IMG_CACHE/stamps/$name" t0 a
  local local_ref="$REGISTRY_NAME/$IMAGE_REPO/$name:$IMAGE_TAG" push_ref="$REGISTRY_ADDR/$IMAGE_REPO/$name:$IMAGE_TAG"
  rm -rf "$ctx" && mkdir -p "$ctx" "$IMG_CACHE/stamps"
  local words
  read -ra words <<<"$recipe"
  "${words[0]}" "$ctx" "${words[@]:1}"
  key=$(printf '%s\n' "$base" "$args" "$(hash_files "$ROOT/$dockerfile" "$ctx")" | sha256sum | cut -c1-16)
  if [ "$(cat "$stamp" 2>/dev/null)" = "$key" ] && dk image inspect "$local_ref" >/dev/null 2>&1 \
    && in_registry "$name"; then
    log "$name: unchanged ($key), not rebuilt"
    return 0
  fi
  t0=$(date +%s)
  local build_args=(--build-arg "BASE=$base")
  for a in $args; do build_args+=(--build-arg "$a"); done
  log "$name: building ($key)"
  dk build -q --network none "${build_args[@]}" --label "io.kserve-py.inputs=$key" \
    -f "$ROOT/$dockerfile" -t "$local_ref" -t "$push_ref" "$ctx" >/dev/null
  dk push -q "$push_ref" >/dev/null
  # BuildKit keeps a copy of each build context to diff the next one against: model-server-torch's
  # is 4.5 GB (and rebuilt whenever server/ changes), which filled this machine's disk. Contexts are
  # sent whole next time instead (the others' are megabytes); layers stay cached.
  dk builder prune -f --filter type=source.local >/dev/null
  echo "$key" >"$stamp"
  log "$name: built and pushed in $(($(date +%s) - t0)) s"
}

# push both charts as OCI artifacts: helm install oci://127.0.0.1:5000/charts/kserve-crd --version ...
push_charts() {
  local chart out
  bash "$ROOT/hack/tools.sh" helm >/dev/null   # the pinned helm into bin/
  out=$(mktemp -d)
  for chart in "$ROOT"/charts/*/Chart.yaml; do
    "$ROOT/bin/helm" package -d "$out" "$(dirname "$chart")" >/dev/null
  done
  for chart in "$out"/*.tgz; do
    "$ROOT/bin/helm" push --plain-http "$chart" "oci://$REGISTRY_ADDR/charts" >/dev/null 2>&1 \
      || die "helm push $chart failed"
    log "charts: pushed $(basename "$chart" .tgz) to oci://$REGISTRY_ADDR/charts"
  done
  rm -rf "$out"
}

main() {
  local want=("$@") t0 entry name dockerfile recipe args base
  t0=$(date +%s)
  # one build at a time on this machine: contexts, stamps and tags are shared by every clone
  mkdir -p "$IMG_CACHE"
  exec 9>"$IMG_CACHE/.build.lock"
  flock -w 3600 9 || die "another make images holds $IMG_CACHE/.build.lock"
  apt_need curl
  # the daemons outlive this script: they must not inherit the lock's descriptor
  "$ROOT/hack/images/dockerd.sh" start 9>&-
  "$ROOT/hack/images/registry.sh" start 9>&-
  base=$("$ROOT/hack/images/base.sh")
  for entry in "${IMAGES[@]}"; do
    IFS='|' read -r name dockerfile recipe args <<<"$entry"
    if [ ${#want[@]} -gt 0 ] && [[ " ${want[*]} " != *" $name "* ]]; then continue; fi
    build_one "$name" "$dockerfile" "$recipe" "$args" "$base"
  done
  [ ${#want[@]} -gt 0 ] || push_charts
  log "done in $(($(date +%s) - t0)) s; registry $REGISTRY_ADDR holds: $(curl -fsS "http://$REGISTRY_ADDR/v2/_catalog")"
}

main "$@"
