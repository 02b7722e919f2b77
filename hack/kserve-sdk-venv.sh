#!/usr/bin/env bash
# Creates a venv with the upstream `kserve` SDK (hack/versions.env: KSERVE_SDK_VERSION and
# KSERVE_SDK_KUBERNETES_VERSION) in the cache dir, keyed by both, and prints its python. It is
# separate from .venv, so nothing of ours can import the upstream package; tests drive it as a
# subprocess.
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/versions.env
cache="${XDG_CACHE_HOME:-$HOME/.cache}/kserve-py"
uv="$cache/tools/uv-$UV_VERSION/bin/uv"
[ -x "$uv" ] || bash hack/venv.sh >&2   # hack/venv.sh installs the pinned uv
export UV_CACHE_DIR="$cache/uv"
dir="$cache/clients/kserve-sdk-$KSERVE_SDK_VERSION-k8s$KSERVE_SDK_KUBERNETES_VERSION-py$PYTHON_VERSION"
if [ ! -f "$dir/.complete" ]; then
  echo "kserve-sdk-venv: creating $dir" >&2
  rm -rf "$dir"
  "$uv" venv -q --python "$(command -v python3)" "$dir" >&2
  "$uv" pip install -q --compile-bytecode --python "$dir/bin/python" \
    "kserve==$KSERVE_SDK_VERSION" "kubernetes==$KSERVE_SDK_KUBERNETES_VERSION" >&2
  touch "$dir/.complete"   # last: a killed install is redone, never half-used
fi
echo "$dir/bin/python"
