"""How far one archive may expand: a small download must not fill the node's disk.

A decompression bomb is caught by its ratio (deflate reaches ~1000x, bzip2 and xz far more,
while model weights compress under 2x and pickles or text under 20x); a huge honest archive
by the byte cap; a flood of empty files by the member cap. Bytes are counted as they are
written, never taken from a header.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO

from kserve_server.storage.errors import UnpackLimitError
from kserve_server.storage.progress import human

GIB = 1 << 30
CHUNK = 1 << 20  # what one read may bring past the budget: nothing, we check before writing


@dataclass(frozen=True)
class Limits:
    """Defaults never bother a real model; each is raised by the env variable named."""

    max_bytes: int = 256 * GIB  # STORAGE_UNPACK_MAX_BYTES
    max_ratio: float = 100.0  # STORAGE_UNPACK_MAX_RATIO: unpacked bytes per archive byte
    ratio_floor: int = 1 * GIB  # STORAGE_UNPACK_RATIO_FLOOR: allowed whatever the ratio
    max_members: int = 100_000  # STORAGE_UNPACK_MAX_MEMBERS: files, dirs and links


class Budget:
    """What one archive of `size` bytes may still write; raises UnpackLimitError past it."""

    def __init__(self, archive: str, *, size: int, limits: Limits) -> None:
        self.archive = archive
        self.size = size
        self.limits = limits
        by_ratio = max(limits.ratio_floor, int(limits.max_ratio * size))
        self.allowed = min(limits.max_bytes, by_ratio)
        self.written = 0
        self.members = 0

    def add_members(self, count: int = 1) -> None:
        self.members += count
        if self.members > self.limits.max_members:
            raise UnpackLimitError(
                f"refusing to unpack {self.archive}: more than {self.limits.max_members} "
                "members; raise STORAGE_UNPACK_MAX_MEMBERS if the model really has that many"
            )

    def expect(self, declared: int) -> None:
        """Refuse before writing when the archive's own listing already claims too much."""
        if declared > self.allowed:
            raise UnpackLimitError(self._too_big())

    def charge(self, count: int) -> None:
        """Account for `count` bytes about to be written; raise instead if they do not fit."""
        if self.written + count > self.allowed:
            raise UnpackLimitError(self._too_big())
        self.written += count

    def copy(self, source: IO[bytes], target: IO[bytes]) -> None:
        """Copy a member's decompressed stream, stopping before the first byte over budget."""
        while chunk := source.read(CHUNK):
            self.charge(len(chunk))
            target.write(chunk)

    def _too_big(self) -> str:
        head = f"refusing to unpack {self.archive}: it expands past {human(self.allowed)}"
        if self.allowed == self.limits.max_bytes:
            return f"{head}; raise STORAGE_UNPACK_MAX_BYTES for a model that big"
        return (
            f"{head}, over {self.limits.max_ratio:g} times its {human(self.size)} "
            "(a decompression bomb?); raise STORAGE_UNPACK_MAX_RATIO if the model is real"
        )
