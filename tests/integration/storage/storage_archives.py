"""Archive bytes built in memory for tests: good ones, ones that try to escape, and bombs."""

from __future__ import annotations

import io
import struct
import tarfile
import zipfile


def tar(
    files: dict[str, bytes], *, mode: str = "w:gz", symlinks: dict[str, str] | None = None
) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode=mode) as archive:
        for link, target in (symlinks or {}).items():
            info = tarfile.TarInfo(link)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            archive.addfile(info)
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def zip_(files: dict[str, bytes], *, compression: int = zipfile.ZIP_STORED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = compression
            archive.writestr(info, data)
    return out.getvalue()


def with_lying_sizes(data: bytes, *, claimed: int) -> bytes:
    """The zip with every member's uncompressed size rewritten to `claimed`, in both the local
    headers and the central directory (zipfile always writes the true size)."""
    raw = bytearray(data)
    for signature, size_at in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = raw.find(signature)
        while at != -1:
            struct.pack_into("<I", raw, at + size_at, claimed)
            at = raw.find(signature, at + 4)
    return bytes(raw)
