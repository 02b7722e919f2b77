#!/usr/bin/env bash
# `make cluster-down`: remove everything hack/cluster/up.sh made, whether the cluster stopped
# cleanly or was killed (hack/devcluster/teardown.py). Pulled images stay in the cache.
# `down.sh check` exits 1 and names whatever is left.
source "$(dirname "$0")/../images/common.sh"
LOG_TAG=cluster
[ -x "$ROOT/.venv/bin/python" ] || die "no .venv: run make venv first"
case "${1:-down}" in
  down | check) PYTHONPATH="$ROOT/hack" exec "$ROOT/.venv/bin/python" -m devcluster "${1:-down}" ;;
  *) die "usage: $0 [down|check]" ;;
esac
