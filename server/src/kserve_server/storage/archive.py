"""Safe unpacking: every member must land inside the destination, or nothing is kept.

Tar goes through the stdlib `data` filter (absolute names, `..`, links leaving the tree and device
files are errors); zip names are checked here, since zipfile silently rewrites bad names instead.
"""

from __future__ import annotations

import tarfile
import zipfile
from pathlib import Path, PurePosixPath

from kserve_server.storage.errors import StorageError, UnsafePathError

TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
ZIP_SUFFIXES = (".zip",)


def is_archive(name: str) -> bool:
    return name.lower().endswith(TAR_SUFFIXES + ZIP_SUFFIXES)


def unpack(archive: Path, into: Path) -> None:
    """Extract `archive` into `into` (blocking). Raises UnsafePathError or StorageError."""
    name = archive.name
    try:
        if name.lower().endswith(ZIP_SUFFIXES):
            _unzip(archive, into)
        else:
            _untar(archive, into)
    except (tarfile.ReadError, zipfile.BadZipFile, EOFError, OSError) as err:
        raise StorageError(f"cannot unpack {name}: not a valid archive ({err})") from err


def _untar(archive: Path, into: Path) -> None:
    with tarfile.open(archive, "r:*") as tar:
        for info in tar.getmembers():  # the data filter would strip a leading "/": refuse it
            if info.name.startswith(("/", "\\")):
                raise UnsafePathError(
                    f"refusing to unpack {archive.name}: member {info.name!r} has an absolute path"
                )
        try:
            tar.extractall(into, filter="data")
        except tarfile.FilterError as err:
            member = err.tarinfo.name if err.tarinfo else "?"
            raise UnsafePathError(
                f"refusing to unpack {archive.name}: member {member!r} {_why(err)}"
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


def _unzip(archive: Path, into: Path) -> None:
    root = into.resolve()
    with zipfile.ZipFile(archive) as zf:
        members = zf.infolist()
        for info in members:  # check every name before writing any
            _check_zip_name(info.filename, root=root, archive=archive.name)
        zf.extractall(into)


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
