#!/usr/bin/env bash
# Creates the torch test venv in the cache dir and prints its python. torch is large, so it stays
# out of .venv (`make venv` and `make serve` stay fast); only the PyTorch / Hugging Face tests
# need it. PyPI's Linux torch wheel is the CUDA build, and it cannot shed its CUDA libraries:
# installed with --no-deps (without the nvidia-* wheels), `import torch` fails at once
# (libtorch_global_deps.so wants libcublasLt), even on a machine without a GPU. So torch comes
# with all of its dependencies (~3 GB installed, of which the nvidia-* wheels are most); it runs
# on the CPU when no GPU is visible. The venv holds the server's dependencies with the
# [torch] extra (torch, transformers, tokenizers, safetensors), the test tools and the openai
# client; the server itself is not installed there: tests import it from the clone
# (PYTHONPATH=server/src), so one cached venv serves every checkout. Keyed by what it is built
# from; TORCH_VENV_TIMING=1 prints the download+install time and the venv's size on stderr.
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/versions.env
cache="${XDG_CACHE_HOME:-$HOME/.cache}/kserve-py"
uv="$cache/tools/uv-$UV_VERSION/bin/uv"
[ -x "$uv" ] || bash hack/venv.sh >&2   # hack/venv.sh installs the pinned uv
export UV_CACHE_DIR="$cache/uv"
key=$(cat server/pyproject.toml hack/requirements-dev.txt hack/torch-requirements.txt \
  hack/torch-venv.sh | sha256sum | cut -c1-12)
torch=$(grep -oE '"torch==[^"]+"' server/pyproject.toml | tr -d '"' | cut -d= -f3)  # the [torch] extra's pin
dir="$cache/venvs/torch-$torch-py$PYTHON_VERSION-$key"
if [ ! -f "$dir/.complete" ]; then
  echo "torch-venv: creating $dir" >&2
  t0=$(date +%s)
  rm -rf "$dir"
  "$uv" venv -q --python "$(command -v python3)" "$dir" >&2
  reqs=$(mktemp)
  grep -E '^(pytest|pytest-asyncio|pytest-aiohttp|pytest-timeout|pyyaml)==' hack/requirements-dev.txt > "$reqs"
  "$uv" pip install -q --compile-bytecode --python "$dir/bin/python" \
    -r "$reqs" -r hack/torch-requirements.txt "./server[torch]" >&2
  "$uv" pip uninstall -q --python "$dir/bin/python" kserve-py-server >&2
  rm -f "$reqs"
  # no GPU here: torch must import and compute on the CPU
  "$dir/bin/python" -c 'import torch; assert float((torch.ones(2) * 3).sum()) == 6.0' >&2
  if [ "${TORCH_VENV_TIMING:-}" = 1 ]; then
    echo "torch-venv: built in $(($(date +%s) - t0))s, $(du -sh "$dir" | cut -f1)" >&2
  fi
  touch "$dir/.complete"   # last: a killed install is redone, never half-used
fi
echo "$dir/bin/python"
