#!/usr/bin/env bash
# Creates the benchmark's venvs (upstream KServe, MLServer, the harness's tools) in the cache dir,
# each keyed by a hash of what it pins, and installs wrk from Debian when missing. These venvs are
# separate from .venv: nothing of ours can import them. Prints KEY=path lines for run.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
source hack/versions.env
cache="${XDG_CACHE_HOME:-$HOME/.cache}/kserve-py"
uv="$cache/tools/uv-$UV_VERSION/bin/uv"
[ -x "$uv" ] || bash hack/venv.sh >&2   # hack/venv.sh installs the pinned uv
export UV_CACHE_DIR="$cache/uv"

if ! command -v wrk >/dev/null; then
  echo "bench: installing wrk from Debian" >&2
  apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends wrk >&2
fi

# The same scikit-learn and joblib as our server, so the one model file loads everywhere.
same_as_ours=$(grep -oE '"(scikit-learn|joblib)==[^"]+"' server/pyproject.toml | tr -d '"')
[ "$(wc -l <<<"$same_as_ours")" = 2 ] || { echo "bench: sklearn/joblib pins not found in server/pyproject.toml" >&2; exit 1; }

make_venv() {  # name requirements-file [extra requirement lines]
  local name=$1 reqs=$2 extra=${3:-} key dir
  key=$( (cat "$reqs"; echo "$extra"; echo "python=$PYTHON_VERSION uv=$UV_VERSION pyc") | sha256sum | cut -c1-12)
  dir="$cache/bench/$name-$key"
  if [ ! -f "$dir/.complete" ]; then
    echo "bench: creating $dir" >&2
    rm -rf "$dir"
    "$uv" venv -q --python "$(command -v python3)" "$dir" >&2
    # --compile-bytecode: PYTHONDONTWRITEBYTECODE=1 would otherwise make every start recompile,
    # as in our .venv (hack/venv.sh), so start→ready compares servers, not import caches
    "$uv" pip install -q --compile-bytecode --python "$dir/bin/python" -r "$reqs" ${extra:+-r <(echo "$extra")} >&2
    touch "$dir/.complete"   # last: a killed install is redone, never half-used
  fi
  echo "$dir"
}

echo "KSERVE_VENV=$(make_venv kserve hack/bench/requirements-kserve.txt "$same_as_ours")"
echo "MLSERVER_VENV=$(make_venv mlserver hack/bench/requirements-mlserver.txt "$same_as_ours")"
echo "TOOLS_VENV=$(make_venv tools hack/bench/requirements-tools.txt)"
