#!/usr/bin/env bash
# `make e2e`: the tutorial on a real cluster, with a time line of each step.
#   1. tools (kubectl, helm)  2. images + local registry  3. cluster up  4. pytest tests/e2e
#   5. the fault suite's short scenarios on the same cluster (pytest tests/chaos -m short)
#   6. cluster down, also when a step failed.
# `make chaos` is this script with E2E_SUITES=chaos: every fault scenario, no tutorial tests.
# E2E_SUITES: the steps 4-5 to run, of `e2e chaos-short chaos cold-start first-answer` (default
# `e2e chaos-short`); `make bench-cold-start` is E2E_SUITES=cold-start (tests/e2e/bench_cold_start.py);
# `make bench-first-answer` is E2E_SUITES=first-answer (tests/e2e/bench_first_answer.py).
# CHAOS_SCENARIOS ("5 8"): the fault suite's scenarios to run, by number (tests/chaos/conftest.py).
# With KUBECONFIG already set to a cluster (kind, or one you brought up), steps 2, 3 and 6 are
# skipped and the tests run against it: its nodes must be able to pull our images.
# E2E_CLUSTER=kind: steps 3 and 6 are `make kind-up` / `make kind-down` (kind's cluster
# mlops-kserve-demo on our node image, two nodes) instead of the host-process cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${XDG_CACHE_HOME:-$HOME/.cache}/kserve-py"
logs="$cache/logs"
mkdir -p "$logs"
start=$(date +%s)
timeline=()
status=0

step() {  # step NAME COMMAND...: run, time, remember; a failure stops the run (after cleanup)
  local name=$1 t0 rc=0
  shift
  t0=$(date +%s)
  echo "=== e2e: $name (+$((t0 - start))s)"
  "$@" || rc=$?
  timeline+=("$(printf '%6ss  %s%s' $(($(date +%s) - t0)) "$name" "$([ $rc = 0 ] || echo "  FAILED ($rc)")")")
  return $rc
}

finish() {
  local rc=$?
  [ $status = 0 ] || rc=$status
  if [ "${own_cluster:-0}" = 1 ]; then
    step "cluster down" make -s cluster-down || { [ "$rc" != 0 ] || rc=1; }
  elif [ "${own_cluster:-0}" = kind ]; then
    step "kind cluster down (make kind-down)" make -s kind-down || { [ "$rc" != 0 ] || rc=1; }
  fi
  echo "=== e2e time line"
  printf '%s\n' "${timeline[@]}"
  if [ -s "$timings" ]; then
    echo "--- inside the tests"
    .venv/bin/python -c 'import json,sys; [print(f"{v:6.1f}s  {k}") for k,v in json.load(open(sys.argv[1])).items()]' "$timings"
  fi
  rm -f "$timings"
  echo "=== e2e: $([ "$rc" = 0 ] && echo PASSED || echo FAILED) in $(($(date +%s) - start))s"
  exit "$rc"
}

timings=$(mktemp)
trap finish EXIT
step "tools (kubectl, helm)" bash hack/tools.sh
if [ -z "${KUBECONFIG:-}" ]; then
  step "images + registry (make images)" make -s images
  if [ "${E2E_CLUSTER:-}" = kind ]; then
    step "kind node image (make kind-image)" make -s kind-image
    own_cluster=kind
    step "kind create cluster (make kind-up)" make -s kind-up
    KUBECONFIG=$(bash hack/kind/up.sh kubeconfig)
  else
    own_cluster=1
    step "cluster up (make cluster-up)" make -s cluster-up
    KUBECONFIG=$(bash hack/cluster/up.sh kubeconfig)
  fi
  export KUBECONFIG
else
  echo "=== e2e: using the cluster of KUBECONFIG=$KUBECONFIG (no images, cluster up/down here)"
fi
suites=" ${E2E_SUITES:-e2e chaos-short} "
# The KEDA e2e needs the cluster's KEDA + Prometheus, which cluster-up runs only when asked
# (CLUSTER_AUTOSCALING=1: not yet part of make test).
keda=(--ignore=tests/e2e/test_tutorial_keda.py --ignore=tests/e2e/test_tutorial_scale_to_zero.py)
[ "${CLUSTER_AUTOSCALING:-}" = 1 ] && keda=()
if [[ $suites == *" e2e "* ]]; then
  E2E_TIMINGS=$timings step "tests (pytest tests/e2e)" .venv/bin/pytest tests/e2e "${keda[@]}" -p no:cacheprovider || status=$?
fi
if [[ $suites == *" chaos-short "* ]]; then
  step "fault suite, short form (pytest tests/chaos -m short)" \
    .venv/bin/pytest tests/chaos -m short -p no:cacheprovider || status=$?
fi
if [[ $suites == *" first-answer "* ]]; then
  E2E_TIMINGS=$timings step "apply -> first answer (pytest tests/e2e/bench_first_answer.py)" \
    .venv/bin/pytest tests/e2e/bench_first_answer.py -s -p no:cacheprovider || status=$?
fi
if [[ $suites == *" cold-start "* ]]; then
  E2E_TIMINGS=$timings step "cold-start benchmark (pytest tests/e2e/bench_cold_start.py)" \
    .venv/bin/pytest tests/e2e/bench_cold_start.py -s -p no:cacheprovider || status=$?
fi
if [[ $suites == *" chaos "* ]]; then
  step "fault suite (pytest tests/chaos)" .venv/bin/pytest tests/chaos -p no:cacheprovider || status=$?
fi
