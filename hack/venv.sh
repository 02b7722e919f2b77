#!/usr/bin/env bash
# Creates .venv with the project's three deliverables (editable) and the pinned dev tools.
# uv is installed at its pinned version into a cache outside the clone; its own download
# cache makes a second run take seconds. Never depends on the cache existing.
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/versions.env
cache="${XDG_CACHE_HOME:-$HOME/.cache}/kserve-py"
uv_home="$cache/tools/uv-$UV_VERSION"
if [ ! -f "$uv_home/.complete" ]; then
  echo "venv: installing uv $UV_VERSION into $uv_home"
  rm -rf "$uv_home"
  python3 -m venv "$uv_home"
  "$uv_home/bin/pip" install -q "uv==$UV_VERSION"
  touch "$uv_home/.complete"   # written last: a killed install is redone, never half-used
fi
uv="$uv_home/bin/uv"
export UV_CACHE_DIR="$cache/uv"
[ -x .venv/bin/python ] || "$uv" venv -q --python "$(command -v python3)" .venv
# PIP_FIND_LINKS may point at a local wheel dir; uv reads its own settings, pip's are ignored.
# --compile-bytecode: .pyc files written once here, so imports never recompile (with
# PYTHONDONTWRITEBYTECODE set, importing scikit-learn otherwise costs ~4 s of CPU every time).
"$uv" pip install -q --compile-bytecode --python .venv/bin/python \
  -r hack/requirements-dev.txt \
  -e "server[sklearn,xgboost,lightgbm,onnx,storage]" -e controller -e local
touch .venv/.stamp
echo "venv: ready (.venv)"
