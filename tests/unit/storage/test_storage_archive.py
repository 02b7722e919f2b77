"""Safe unpacking: escapes are refused with the member named; good archives unpack whole."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from kserve_server.storage import archive
from kserve_server.storage.errors import StorageError, UnsafePathError


def make_tar(path: Path, members: list[tarfile.TarInfo], data: bytes = b"x") -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for info in members:
            if info.isfile():
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            else:
                tar.addfile(info)
    return path


def member(name: str, *, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    return info


@pytest.mark.parametrize(
    ("members", "why"),
    [
        ([member("../escape.txt")], "outside the destination"),
        ([member("/etc/cron.d/evil")], "absolute path"),
        ([member("link", kind=tarfile.SYMTYPE, link="/etc/passwd")], "absolute path"),
        ([member("link", kind=tarfile.SYMTYPE, link="../../outside")], "outside"),
        ([member("hard", kind=tarfile.LNKTYPE, link="../../outside")], "outside"),
        ([member("dev", kind=tarfile.CHRTYPE)], "special file"),
    ],
)
def test_tar_escapes_are_refused(members: list[tarfile.TarInfo], why: str, tmp_path: Path) -> None:
    into = tmp_path / "into"
    into.mkdir()
    bad = make_tar(tmp_path / "bad.tar.gz", members)
    with pytest.raises(UnsafePathError, match=why) as caught:
        archive.unpack(bad, into)
    assert members[0].name in str(caught.value)
    assert not (tmp_path / "escape.txt").exists()


def test_a_symlink_inside_the_tree_is_kept(tmp_path: Path) -> None:
    into = tmp_path / "into"
    into.mkdir()
    good = make_tar(
        tmp_path / "good.tgz",
        [member("v1/model.bin"), member("current", kind=tarfile.SYMTYPE, link="v1")],
    )
    archive.unpack(good, into)
    assert (into / "current" / "model.bin").read_bytes() == b"x"


@pytest.mark.parametrize(
    "name", ["../evil.txt", "/abs/evil.txt", "a/../../evil.txt", "..\\evil.txt", "C:/evil"]
)
def test_zip_slip_is_refused_before_anything_is_written(name: str, tmp_path: Path) -> None:
    into = tmp_path / "a" / "into"
    into.mkdir(parents=True)
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("first.txt", b"ok")
        zf.writestr(zipfile.ZipInfo(name), b"pwned")
    with pytest.raises(UnsafePathError, match="outside the destination"):
        archive.unpack(bad, into)
    assert list(into.iterdir()) == []


def test_a_corrupt_archive_is_reported_not_raised_raw(tmp_path: Path) -> None:
    bad = tmp_path / "model.tar.gz"
    bad.write_bytes(b"this is not gzip")
    with pytest.raises(StorageError, match=r"cannot unpack model\.tar\.gz"):
        archive.unpack(bad, tmp_path)


@pytest.mark.parametrize(
    ("name", "expected"),
    [("m.tar.gz", True), ("m.TGZ", True), ("m.zip", True), ("m.tar", True), ("model.pkl", False)],
)
def test_is_archive(name: str, expected: bool) -> None:
    assert archive.is_archive(name) is expected
