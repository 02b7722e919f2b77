"""Safe unpacking: every member must land inside the destination, within the limits of
`limits.py`, or the caller discards the staging dir and nothing is kept.

Every member's real landing place is worked out by `confine.py`, for tar and zip alike, and
members are written by this module: never by tarfile's `data` filter, whose check depends on the
Python version (CVE-2025-4517), nor by zipfile, which silently rewrites bad names instead.
"""

from __future__ import annotations

import contextlib
import lzma
import os
import shutil
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from kserve_server.storage import confine
from kserve_server.storage.errors import StorageError, UnsafePathError
from kserve_server.storage.limits import CHUNK, Budget, Limits

TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
ZIP_SUFFIXES = (".zip",)


def is_archive(name: str) -> bool:
    return name.lower().endswith(TAR_SUFFIXES + ZIP_SUFFIXES)


def unpack(archive: Path, into: Path, *, limits: Limits) -> None:
    """Extract `archive` into `into` and remove the archive (blocking). Raises UnsafePathError,
    UnpackLimitError or StorageError; what was written before is left for the caller's staging
    dir to discard."""
    name = archive.name
    with _mapped_errors(name, into), archive.open("rb") as data:
        # Unlinked while open: a member named like the archive itself (model.tar.gz holding
        # model.tar.gz) then lands as a new file instead of overwriting what is being read.
        archive.unlink()
        budget = Budget(name, size=os.fstat(data.fileno()).st_size, limits=limits)
        if name.lower().endswith(ZIP_SUFFIXES):
            _unzip(data, into, name=name, budget=budget)
        else:
            _untar(data, into, name=name, budget=budget)


def unzip(archive: Path, into: Path, *, limits: Limits) -> None:
    """Extract the zip `archive` whatever its suffix (a TorchServe `.mar`) into `into`, leaving
    the archive in place (it may sit on a read-only volume); same checks and errors as unpack."""
    name = archive.name
    with _mapped_errors(name, into), archive.open("rb") as data:
        budget = Budget(name, size=os.fstat(data.fileno()).st_size, limits=limits)
        _unzip(data, into, name=name, budget=budget)


@contextlib.contextmanager
def _mapped_errors(name: str, into: Path) -> Iterator[None]:
    """The libraries' and the OS's errors while unpacking → StorageError with one line."""
    try:
        yield
    except OSError as err:
        if err.errno is None:  # gzip's BadGzipFile: the data, not the disk
            raise StorageError(f"cannot unpack {name}: not a valid archive ({err})") from err
        raise StorageError(f"cannot unpack {name} into {into}: {err.strerror}") from err
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, lzma.LZMAError) as err:
        raise StorageError(f"cannot unpack {name}: not a valid archive ({err})") from err
    except (NotImplementedError, RuntimeError) as err:  # zip: encrypted, unknown compression
        raise StorageError(f"cannot unpack {name}: {err}") from err


def _untar(data: BinaryIO, into: Path, *, name: str, budget: Budget) -> None:
    root = into.absolute()
    links: list[list[str]] = []  # symlinks written: checked again once every member is out
    with tarfile.open(fileobj=data, mode="r:*") as tar:
        for info in tar:  # lazily, member by member: a flood of headers meets the member cap
            budget.add_members()
            try:
                _extract(tar, info, root=root, budget=budget, links=links)
            except confine.Outside as err:
                raise _unsafe(name, info.name, err.reason) from None
        _check_end(tar, name=name)
    # A link checked when written may lead elsewhere once later members exist
    # (`p -> q/..`, then `q -> .`): each must still resolve inside when all are out.
    for link in links:
        path = root.joinpath(*link)
        if path.is_symlink():
            try:
                confine.link_target(root, link[:-1], os.readlink(path))
            except confine.Outside as err:
                raise _unsafe(name, "/".join(link), err.reason) from None


def _check_end(tar: tarfile.TarFile, *, name: str) -> None:
    """Refuse a tar cut short at (or inside) a member header: tarfile takes a missing or short
    header after the first member as the end of the archive, so a truncated download would
    unpack as part of a model. A whole archive ends with a full block (of zeros), which tarfile
    has just read from where the last member ended."""
    assert tar.fileobj is not None
    if tar.fileobj.tell() - tar.offset < tarfile.BLOCKSIZE:
        raise StorageError(
            f"cannot unpack {name}: it ends after {tar.offset} bytes, inside a member header "
            "(a truncated download or upload?)"
        )


def _unsafe(archive: str, member: str, reason: str) -> UnsafePathError:
    return UnsafePathError(f"refusing to unpack {archive}: member {member!r} {reason}")


def _extract(
    tar: tarfile.TarFile,
    info: tarfile.TarInfo,
    *,
    root: Path,
    budget: Budget,
    links: list[list[str]],
) -> None:
    """One member, written only where confine says it lands; raises confine.Outside."""
    if confine.is_absolute(info.name):
        raise confine.Outside("has an absolute path")
    if not (info.isreg() or info.isdir() or info.issym() or info.islnk()):
        raise confine.Outside("is a device or other special file")
    parts = info.name.split("/")
    if info.isdir():
        where = confine.resolve(root, parts)
        if where:
            root.joinpath(*where).mkdir(mode=0o755, parents=True, exist_ok=True)
        return
    where = confine.resolve(root, parts, follow_last=False)
    if not where:
        raise confine.Outside("would replace the destination itself")
    target = root.joinpath(*where)
    target.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        target.unlink()  # a member replaces what is there; never writes through it
    if info.issym():
        confine.link_target(root, where[:-1], info.linkname)
        os.symlink(info.linkname, target)
        links.append(where)
    elif info.islnk():
        _hard_link(info, root=root, target=target)
    else:
        budget.charge(info.size)  # tarfile reads exactly the header's size or fails
        source = tar.extractfile(info)
        if source is None:
            raise StorageError(f"member {info.name!r} has no data")
        # O_EXCL|O_NOFOLLOW: whatever appears at the target is an error, never a way out
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        with source, os.fdopen(os.open(target, flags, 0o600), "wb") as out:
            shutil.copyfileobj(source, out, CHUNK)
        # as the data filter: no setuid/setgid, nothing others may write, the owner may read
        os.chmod(target, (info.mode & 0o755) | 0o600)


def _hard_link(info: tarfile.TarInfo, *, root: Path, target: Path) -> None:
    """A hard link names an earlier member, from the archive's root."""
    source = root.joinpath(*confine.link_target(root, [], info.linkname))
    if not source.is_file():
        raise StorageError(f"member {info.name!r} links to {info.linkname!r}: no such file")
    os.link(source, target)


def _unzip(data: BinaryIO, into: Path, *, name: str, budget: Budget) -> None:
    root = into.absolute()
    with zipfile.ZipFile(data) as zf:
        members = zf.infolist()
        budget.add_members(len(members))  # the central directory is read whole already
        places = [_zip_place(info.filename, root=root, archive=name) for info in members]
        budget.expect(sum(info.file_size for info in members))  # an honest bomb: fail now
        for info, where in zip(members, places, strict=True):  # every name checked first
            if not where:
                continue
            target = root.joinpath(*where)
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            # Sizes in the zip's directory are not trusted: the budget counts what is written.
            with zf.open(info) as source, target.open("wb") as out:
                budget.copy(source, out)


def _zip_place(name: str, *, root: Path, archive: str) -> list[str]:
    """Where a zip member lands. A `..` between backslashes is refused too: Windows tools
    would take it as a separator."""
    try:
        if confine.is_absolute(name) or ".." in name.replace("\\", "/").split("/"):
            raise confine.Outside("would be written outside the destination")
        return confine.resolve(root, name.split("/"), follow_last=False)
    except confine.Outside as err:
        raise _unsafe(archive, name, err.reason) from None
