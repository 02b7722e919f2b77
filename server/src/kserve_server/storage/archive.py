"""Safe unpacking: every member must land inside the destination, within the limits of
`limits.py`, or the caller discards the staging dir and nothing is kept.

Tar goes through the stdlib `data` filter (absolute names, `..`, links leaving the tree and device
files are errors); zip names are checked here, since zipfile silently rewrites bad names instead.
"""

from __future__ import annotations

import lzma
import os
import tarfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from kserve_server.storage.errors import StorageError, UnsafePathError
from kserve_server.storage.limits import Budget, Limits

TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
ZIP_SUFFIXES = (".zip",)


def is_archive(name: str) -> bool:
    return name.lower().endswith(TAR_SUFFIXES + ZIP_SUFFIXES)


def unpack(archive: Path, into: Path, *, limits: Limits) -> None:
    """Extract `archive` into `into` and remove the archive (blocking). Raises UnsafePathError,
    UnpackLimitError or StorageError; what was written before is left for the caller's staging
    dir to discard."""
    name = archive.name
    try:
        with archive.open("rb") as data:
            # Unlinked while open: a member named like the archive itself (model.tar.gz holding
            # model.tar.gz) then lands as a new file instead of overwriting what is being read.
            archive.unlink()
            budget = Budget(name, size=os.fstat(data.fileno()).st_size, limits=limits)
            if name.lower().endswith(ZIP_SUFFIXES):
                _unzip(data, into, name=name, budget=budget)
            else:
                _untar(data, into, name=name, budget=budget)
    except OSError as err:
        if err.errno is None:  # gzip's BadGzipFile: the data, not the disk
            raise StorageError(f"cannot unpack {name}: not a valid archive ({err})") from err
        raise StorageError(f"cannot unpack {name} into {into}: {err.strerror}") from err
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, lzma.LZMAError) as err:
        raise StorageError(f"cannot unpack {name}: not a valid archive ({err})") from err
    except (NotImplementedError, RuntimeError) as err:  # zip: encrypted, unknown compression
        raise StorageError(f"cannot unpack {name}: {err}") from err


def _untar(data: BinaryIO, into: Path, *, name: str, budget: Budget) -> None:
    with tarfile.open(fileobj=data, mode="r:*") as tar:
        for info in tar:  # lazily, member by member: a flood of headers meets the member cap
            budget.add_members()
            if info.name.startswith(("/", "\\")):  # the data filter would strip the "/"
                raise UnsafePathError(
                    f"refusing to unpack {name}: member {info.name!r} has an absolute path"
                )
            if info.isreg():  # tarfile writes exactly the header's size or fails: charge it first
                budget.charge(info.size)
            try:
                tar.extract(info, into, filter="data")
            except tarfile.FilterError as err:
                member = err.tarinfo.name if err.tarinfo else "?"
                raise UnsafePathError(
                    f"refusing to unpack {name}: member {member!r} {_why(err)}"
                ) from err


def _why(err: tarfile.FilterError) -> str:
    reasons: dict[type[tarfile.FilterError], str] = {
        tarfile.AbsolutePathError: "has an absolute path",
        tarfile.OutsideDestinationError: "would be written outside the destination",
        tarfile.AbsoluteLinkError: "is a link to an absolute path",
        tarfile.LinkOutsideDestinationError: "is a link pointing outside the destination",
        tarfile.SpecialFileError: "is a device or other special file",
    }
    return next((text for kind, text in reasons.items() if isinstance(err, kind)), str(err))


def _unzip(data: BinaryIO, into: Path, *, name: str, budget: Budget) -> None:
    root = into.resolve()
    with zipfile.ZipFile(data) as zf:
        members = zf.infolist()
        budget.add_members(len(members))  # the central directory is read whole already
        for info in members:  # check every name before writing any
            _check_zip_name(info.filename, root=root, archive=name)
        budget.expect(sum(info.file_size for info in members))  # an honest bomb: fail now
        for info in members:
            parts = [p for p in info.filename.split("/") if p not in ("", ".")]
            if not parts:
                continue
            target = root.joinpath(*parts)
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            # Sizes in the zip's directory are not trusted: the budget counts what is written.
            with zf.open(info) as source, target.open("wb") as out:
                budget.copy(source, out)


def _check_zip_name(name: str, *, root: Path, archive: str) -> None:
    posix = PurePosixPath(name.replace("\\", "/"))
    bad = (
        posix.is_absolute()
        or ".." in posix.parts
        or (len(name) > 1 and name[1] == ":")  # a Windows drive letter
        or not (root / posix).resolve().is_relative_to(root)
    )
    if bad:
        raise UnsafePathError(
            f"refusing to unpack {archive}: member {name!r} "
            "would be written outside the destination"
        )
