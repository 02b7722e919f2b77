"""Will the model fit? Its weights at the load dtype against the container's memory limit.

Checked before transformers reads a byte of weights, so a model too big for the pod is a
ModelLoadError naming both sizes (the InferenceService shows it) instead of an OOM kill and a
crash loop. Sizes come from the safetensors headers (PyTorch .bin files count by their size).
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

from kserve_server.errors import ModelLoadError

CGROUP = Path("/sys/fs/cgroup")
# safetensors dtypes → bytes per element; floating ones take the load dtype's size instead
SIZES = {
    "F64": 8,
    "F32": 4,
    "F16": 2,
    "BF16": 2,
    "I64": 8,
    "I32": 4,
    "I16": 2,
    "I8": 1,
    "U8": 1,
    "BOOL": 1,
    "F8_E4M3": 1,
    "F8_E5M2": 1,
    "U16": 2,
    "U32": 4,
    "U64": 8,
}
FLOATING = {"F64", "F32", "F16", "BF16"}
UNLIMITED = 1 << 60  # cgroup v1 writes a huge number for "no limit"


def weight_bytes(model_dir: Path, *, float_bytes: int | None) -> int:
    """Bytes the weights take once loaded; `float_bytes` None keeps each tensor's own size."""
    total = 0
    files = sorted(model_dir.glob("*.safetensors"))
    for path in files:
        with path.open("rb") as f:
            (length,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(length))
        for name, tensor in header.items():
            if name == "__metadata__":
                continue
            count = 1
            for dim in tensor["shape"]:
                count *= int(dim)
            dtype = tensor["dtype"]
            size = float_bytes if float_bytes and dtype in FLOATING else SIZES.get(dtype, 4)
            total += count * size
    if not files:
        total = sum(p.stat().st_size for p in model_dir.glob("*.bin"))
    return total


def limit(root: Path = CGROUP) -> int | None:
    """This container's memory limit in bytes (cgroup v2, else v1), None when unlimited."""
    for path in (root / "memory.max", root / "memory" / "memory.limit_in_bytes"):
        try:
            text = path.read_text().strip()
        except OSError:
            continue
        if text == "max":
            return None
        value = int(text)
        return None if value >= UNLIMITED else value
    return None


def resident() -> int:
    """This process's resident memory now, in bytes."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0
    import os

    return pages * os.sysconf("SC_PAGE_SIZE")


def check(need: int, *, limit_bytes: int | None, used: int, dtype: str, name: str) -> None:
    """ModelLoadError when `need` more bytes do not fit under the limit beside `used`."""
    if limit_bytes is None or used + need <= limit_bytes:
        return
    raise ModelLoadError(
        f"model {name} does not fit in memory: its weights take {mib(need)} in {dtype}, and "
        f"the container's memory limit is {mib(limit_bytes)} with {mib(used)} already in use; "
        f"raise resources.limits.memory, or load it in a smaller --dtype"
    )


def mib(n: int) -> str:
    return f"{n / (1 << 20):,.0f} MiB" if n >= 1 << 20 else f"{n / 1024:,.1f} KiB"
