#!/usr/bin/env bash
# Profiles our model server under wrk load with py-spy (from the bench tools venv), in a private
# network namespace: 16 connections, server on core 1, wrk on 0. Model `iris` (the tutorial's
# SVC, V1 and V2 single row) or `onnx` (the bench's ONNX cell: its MLP, V2 single row).
# Writes raw stacks to $OUT (default /tmp/kserve-bench-profile) and prints where the time went.
# Usage: bash hack/bench/profile.sh [seconds] [ours|ceiling] [iris|onnx]
#   (the ceiling: bench/ceiling.py or bench/ceiling_onnx.py, to compare shares)
set -euo pipefail
cd "$(dirname "$0")/../.."
eval "$(bash hack/bench/peers.sh)"
out=${OUT:-/tmp/kserve-bench-profile}
mkdir -p "$out"
export SECONDS_TO_PROFILE=${1:-10} OUT_DIR=$out TOOLS_VENV TARGET=${2:-ours} MODEL=${3:-iris}
case "$MODEL" in
  iris) .venv/bin/python examples/train.py --out "$out/models" >/dev/null ;;
  onnx) .venv/bin/python bench/onnx_model.py --out "$out/models/onnx" ;;
  *) echo "profile: model is iris or onnx, not $MODEL" >&2; exit 2 ;;
esac
exec unshare --net -- bash -c '
set -euo pipefail
ip link set lo up
if [ "$MODEL" = iris ]; then
  name=iris dir="$OUT_DIR/models/sklearn-iris" apis="v1 v2" ready=/v1/models/iris
  server=(.venv/bin/kserve-model-server --model_name iris)
  [ "$TARGET" = ceiling ] && server=(.venv/bin/python bench/ceiling.py)
  echo "{\"instances\": [[6.8, 2.8, 4.8, 1.4]]}" > "$OUT_DIR/v1.json"
  echo "{\"inputs\": [{\"name\": \"input-0\", \"shape\": [1, 4], \"datatype\": \"FP64\", \"data\": [6.8, 2.8, 4.8, 1.4]}]}" > "$OUT_DIR/v2.json"
else
  name=mlp dir="$OUT_DIR/models/onnx" apis="v2" ready=/v2/models/mlp/ready
  server=(.venv/bin/kserve-model-server --model_name mlp --framework=onnx --enable_grpc false)
  [ "$TARGET" = ceiling ] && server=(.venv/bin/python bench/ceiling_onnx.py)
  echo "{\"inputs\": [{\"name\": \"x\", \"shape\": [1, 4], \"datatype\": \"FP32\", \"data\": [6.8, 2.8, 4.8, 1.4]}]}" > "$OUT_DIR/v2.json"
fi
taskset -c 1 "${server[@]}" --model_dir "$dir" --http_port 8080 > "$OUT_DIR/server.log" 2>&1 &
pid=$!
trap "kill $pid" EXIT
for _ in $(seq 600); do curl -sf "localhost:8080$ready" >/dev/null && break; sleep 0.05; done
for api in $apis; do
  path=/v1/models/$name:predict; [ $api = v2 ] && path=/v2/models/$name/infer
  BENCH_BODY="$OUT_DIR/$api.json" taskset -c 0 wrk -t1 -c16 -d$((SECONDS_TO_PROFILE + 2))s \
    -s bench/post.lua "http://127.0.0.1:8080$path" > "$OUT_DIR/$api.wrk" &
  sleep 1
  "$TOOLS_VENV/bin/py-spy" record -p $pid -d "$SECONDS_TO_PROFILE" -r 200 --nonblocking \
    --format raw -o "$OUT_DIR/$MODEL-$TARGET-$api.txt" > /dev/null 2>&1
  wait $!
  grep BENCH_JSON "$OUT_DIR/$api.wrk"
  "$TOOLS_VENV/bin/python" bench/profile_shares.py "$OUT_DIR/$MODEL-$TARGET-$api.txt"
done
'
