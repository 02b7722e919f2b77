#!/usr/bin/env bash
# Profiles our model server under wrk load with py-spy (from the bench tools venv), in a private
# network namespace: iris SVC, V1 and V2 single row, 16 connections, server on core 1, wrk on 0.
# Writes raw stacks to $OUT (default /tmp/kserve-bench-profile) and prints where the time went.
# Usage: bash hack/bench/profile.sh [seconds] [ours|ceiling]   (the ceiling: to compare shares)
set -euo pipefail
cd "$(dirname "$0")/../.."
eval "$(bash hack/bench/peers.sh)"
out=${OUT:-/tmp/kserve-bench-profile}
mkdir -p "$out"
export SECONDS_TO_PROFILE=${1:-10} OUT_DIR=$out TOOLS_VENV TARGET=${2:-ours}
.venv/bin/python examples/train.py --out "$out/models" >/dev/null
exec unshare --net -- bash -c '
set -euo pipefail
ip link set lo up
server=(.venv/bin/kserve-model-server --model_name iris)
[ "$TARGET" = ceiling ] && server=(.venv/bin/python bench/ceiling.py)
taskset -c 1 "${server[@]}" --model_dir "$OUT_DIR/models/sklearn-iris" --http_port 8080 \
  > "$OUT_DIR/server.log" 2>&1 &
pid=$!
trap "kill $pid" EXIT
for _ in $(seq 600); do curl -sf localhost:8080/v1/models/iris >/dev/null && break; sleep 0.05; done
echo "{\"instances\": [[6.8, 2.8, 4.8, 1.4]]}" > "$OUT_DIR/v1.json"
echo "{\"inputs\": [{\"name\": \"input-0\", \"shape\": [1, 4], \"datatype\": \"FP64\", \"data\": [6.8, 2.8, 4.8, 1.4]}]}" > "$OUT_DIR/v2.json"
for api in v1 v2; do
  path=/v1/models/iris:predict; [ $api = v2 ] && path=/v2/models/iris/infer
  BENCH_BODY="$OUT_DIR/$api.json" taskset -c 0 wrk -t1 -c16 -d$((SECONDS_TO_PROFILE + 2))s \
    -s bench/post.lua "http://127.0.0.1:8080$path" > "$OUT_DIR/$api.wrk" &
  sleep 1
  "$TOOLS_VENV/bin/py-spy" record -p $pid -d "$SECONDS_TO_PROFILE" -r 200 --nonblocking \
    --format raw -o "$OUT_DIR/$TARGET-$api.txt" > /dev/null 2>&1
  wait $!
  grep BENCH_JSON "$OUT_DIR/$api.wrk"
  "$TOOLS_VENV/bin/python" bench/profile_shares.py "$OUT_DIR/$TARGET-$api.txt"
done
'
