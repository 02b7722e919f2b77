#!/usr/bin/env bash
# Creates the TensorFlow test venv in the cache dir and prints its python. TensorFlow is large,
# so it stays out of .venv (`make venv` and `make serve` stay fast); only `make test-tensorflow`
# and the TensorFlow image need it. The venv holds the server's dependencies with the
# [tensorflow] extra, the test tools and TF Serving's client API (tensorflow-serving-api, with
# --no-deps: it would pull the full `tensorflow` wheel beside tensorflow-cpu); the server itself
# is not installed there: tests import it from the clone (PYTHONPATH=server/src), so one cached
# venv serves every checkout. Keyed by the pins it was built from.
#
# tensorflow-cpu (~270 MB) is downloaded once for both this venv and the TensorFlow image: the
# wheels come from the image wheelhouse (hack/images/wheels.sh), filled here from the image's
# lock if `make images` has not done it yet, and every package of that lock is installed at the
# lock's version; only the test tools and tensorflow-serving-api come from the index.
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/images/common.sh   # CACHE, IMG_CACHE, log, hash_files
source hack/images/wheels.sh   # UV, WHEELHOUSE, LOCKS, lock, download
LOG_TAG=tensorflow-venv
[ -x "$UV" ] || bash hack/venv.sh >&2   # hack/venv.sh installs the pinned uv
export UV_CACHE_DIR="$CACHE/uv"
# the TensorFlow image's lock, brought up to date with server/pyproject.toml as `make images` does
lockfile="$LOCKS/model-server-tensorflow.txt"
lock model-server-tensorflow server/pyproject.toml triton >&2
key=$(cat server/pyproject.toml hack/requirements-dev.txt hack/tensorflow-venv.sh "$lockfile" \
  | sha256sum | cut -c1-12)
dir="$CACHE/venvs/tensorflow-$TENSORFLOW_VERSION-py$PYTHON_VERSION-$key"
if [ ! -f "$dir/.complete" ]; then
  log "creating $dir"
  download "$lockfile" >&2
  rm -rf "$dir"
  "$UV" venv -q --python "$(command -v python3)" "$dir" >&2
  reqs=$(mktemp)
  grep -E '^(pytest|pytest-asyncio|pytest-aiohttp|pytest-timeout|pyyaml)==' hack/requirements-dev.txt > "$reqs"
  # uv takes a --find-links wheel over the index's file of the same version
  "$UV" pip install -q --compile-bytecode --python "$dir/bin/python" --find-links "$WHEELHOUSE" \
    -c "$lockfile" -r "$reqs" "./server[tensorflow]" >&2
  "$UV" pip uninstall -q --python "$dir/bin/python" kserve-py-server >&2
  "$UV" pip install -q --compile-bytecode --no-deps --python "$dir/bin/python" \
    "tensorflow-serving-api==$TENSORFLOW_VERSION" >&2
  rm -f "$reqs"
  touch "$dir/.complete"   # last: a killed install is redone, never half-used
fi
echo "$dir/bin/python"
