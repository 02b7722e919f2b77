#!/usr/bin/env bash
# Creates the TensorFlow test venv in the cache dir and prints its python. TensorFlow is large,
# so it stays out of .venv (`make venv` and `make serve` stay fast); only `make test-tensorflow`
# and the TensorFlow image need it. The venv holds the server's dependencies with the
# [tensorflow] extra, the test tools and TF Serving's client API (tensorflow-serving-api, with
# --no-deps: it would pull the full `tensorflow` wheel beside tensorflow-cpu); the server itself
# is not installed there: tests import it from the clone (PYTHONPATH=server/src), so one cached
# venv serves every checkout. Keyed by the pins it was built from.
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/versions.env
cache="${XDG_CACHE_HOME:-$HOME/.cache}/kserve-py"
uv="$cache/tools/uv-$UV_VERSION/bin/uv"
[ -x "$uv" ] || bash hack/venv.sh >&2   # hack/venv.sh installs the pinned uv
export UV_CACHE_DIR="$cache/uv"
key=$(cat server/pyproject.toml hack/requirements-dev.txt hack/tensorflow-venv.sh | sha256sum | cut -c1-12)
dir="$cache/venvs/tensorflow-$TENSORFLOW_VERSION-py$PYTHON_VERSION-$key"
if [ ! -f "$dir/.complete" ]; then
  echo "tensorflow-venv: creating $dir" >&2
  rm -rf "$dir"
  "$uv" venv -q --python "$(command -v python3)" "$dir" >&2
  reqs=$(mktemp)
  grep -E '^(pytest|pytest-asyncio|pytest-aiohttp|pytest-timeout|pyyaml)==' hack/requirements-dev.txt > "$reqs"
  "$uv" pip install -q --compile-bytecode --python "$dir/bin/python" -r "$reqs" "./server[tensorflow]" >&2
  "$uv" pip uninstall -q --python "$dir/bin/python" kserve-py-server >&2
  "$uv" pip install -q --compile-bytecode --no-deps --python "$dir/bin/python" \
    "tensorflow-serving-api==$TENSORFLOW_VERSION" >&2
  rm -f "$reqs"
  touch "$dir/.complete"   # last: a killed install is redone, never half-used
fi
echo "$dir/bin/python"
