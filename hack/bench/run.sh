#!/usr/bin/env bash
# `make bench`: builds the peer venvs, then runs the harness (bench/) inside a private network
# namespace, so servers that bind 0.0.0.0 (upstream KServe, MLServer) are reachable from nowhere
# but the load generator. Pass BENCH_QUICK=1 for a smoke run; extra args go to the harness.
# BENCH_NICE=-10 (root) raises the priority of the servers and wrk above other work on a shared
# machine; off by default, and recorded in the results.
set -euo pipefail
cd "$(dirname "$0")/../.."
eval "$(bash hack/bench/peers.sh)"
[ -x .venv/bin/kserve-model-server ] || { echo "bench: .venv has no kserve-model-server (make venv)" >&2; exit 1; }
export BENCH_NICE=${BENCH_NICE:-0}
exec nice -n "$BENCH_NICE" unshare --net -- bash -c 'ip link set lo up && exec "$@"' bench \
  "$TOOLS_VENV/bin/python" -m bench \
  --ours-bin "$PWD/.venv/bin/kserve-model-server" --our-python "$PWD/.venv/bin/python" \
  --kserve-venv "$KSERVE_VENV" --mlserver-venv "$MLSERVER_VENV" "$@"
