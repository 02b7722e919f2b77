"""Safe unpacking: escapes and bombs are refused with the member or limit named; good archives
unpack whole."""

from __future__ import annotations

import asyncio
import io
import random
import tarfile
import zipfile
from pathlib import Path

import pytest

from kserve_server.storage import archive, fetch
from kserve_server.storage.errors import StorageError, UnpackLimitError, UnsafePathError
from kserve_server.storage.limits import Limits
from kserve_server.storage.settings import StorageSettings

MIB = 1 << 20
SMALL = Limits(ratio_floor=MIB, max_ratio=100)  # bombs in tests stay a few MiB


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
        archive.unpack(bad, into, limits=Limits())
    assert members[0].name in str(caught.value)
    assert not (tmp_path / "escape.txt").exists()


def test_a_symlink_inside_the_tree_is_kept(tmp_path: Path) -> None:
    into = tmp_path / "into"
    into.mkdir()
    good = make_tar(
        tmp_path / "good.tgz",
        [member("v1/model.bin"), member("current", kind=tarfile.SYMTYPE, link="v1")],
    )
    archive.unpack(good, into, limits=Limits())
    assert (into / "current" / "model.bin").read_bytes() == b"x"


@pytest.mark.parametrize(
    "members",
    [
        # each link stays inside when written; together they lead out
        [
            member("p", kind=tarfile.SYMTYPE, link="q/.."),
            member("q", kind=tarfile.SYMTYPE, link="."),
        ],
        # a link to a directory, then a link through it
        [
            member("up", kind=tarfile.SYMTYPE, link="sub/.."),
            member("sub", kind=tarfile.SYMTYPE, link="."),
            member("out", kind=tarfile.SYMTYPE, link="up/x"),
        ],
    ],
)
def test_links_that_lead_outside_only_together_are_refused(
    members: list[tarfile.TarInfo], tmp_path: Path
) -> None:
    into = tmp_path / "into"
    into.mkdir()
    bad = make_tar(tmp_path / "bad.tar.gz", members)
    with pytest.raises(UnsafePathError, match="outside the destination"):
        archive.unpack(bad, into, limits=Limits())


def test_a_file_written_through_a_link_lands_where_the_link_points(tmp_path: Path) -> None:
    into = tmp_path / "into"
    into.mkdir()
    good = make_tar(
        tmp_path / "good.tgz",
        [
            member("v1/model.bin"),
            member("current", kind=tarfile.SYMTYPE, link="v1"),
            member("current/extra.bin"),
            # replaces the file, not written through
            member("v1/model.bin", kind=tarfile.SYMTYPE, link="extra.bin"),
        ],
    )
    archive.unpack(good, into, limits=Limits())
    assert (into / "v1" / "extra.bin").read_bytes() == b"x"
    assert (into / "v1" / "model.bin").is_symlink()


def test_a_file_cannot_be_written_through_a_link_to_outside(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    into = tmp_path / "into"
    into.mkdir()
    # the link is refused first; without it, escape/pwned would be a plain file inside
    bad = make_tar(
        tmp_path / "bad.tgz",
        [member("escape", kind=tarfile.SYMTYPE, link="../outside"), member("escape/pwned")],
    )
    with pytest.raises(UnsafePathError, match=r"'escape' is a link pointing outside"):
        archive.unpack(bad, into, limits=Limits())
    assert list(outside.iterdir()) == []


def test_a_chain_of_more_than_40_links_is_refused(tmp_path: Path) -> None:
    chain = [member("l0", kind=tarfile.SYMTYPE, link="target")]
    chain += [member(f"l{i}", kind=tarfile.SYMTYPE, link=f"l{i - 1}") for i in range(1, 45)]
    into = tmp_path / "into"
    into.mkdir()
    bad = make_tar(tmp_path / "loop.tgz", chain)
    with pytest.raises(UnsafePathError, match="more than 40 links"):
        archive.unpack(bad, into, limits=Limits())


def test_setuid_and_world_writable_bits_are_dropped(tmp_path: Path) -> None:
    info = member("run.sh")
    info.mode = 0o6777
    into = tmp_path / "into"
    into.mkdir()
    archive.unpack(make_tar(tmp_path / "m.tgz", [info]), into, limits=Limits())
    assert (into / "run.sh").stat().st_mode & 0o7777 == 0o755


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
        archive.unpack(bad, into, limits=Limits())
    assert list(into.iterdir()) == []


def test_a_corrupt_archive_is_reported_not_raised_raw(tmp_path: Path) -> None:
    bad = tmp_path / "model.tar.gz"
    bad.write_bytes(b"this is not gzip")
    with pytest.raises(StorageError, match=r"cannot unpack model\.tar\.gz"):
        archive.unpack(bad, tmp_path, limits=Limits())


def _plain_tar() -> bytes:
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        for name in ("a.bin", "b.bin"):
            info = tarfile.TarInfo(name)
            info.size = 1000
            tar.addfile(info, io.BytesIO(b"x" * 1000))
    return data.getvalue()


# a.bin is a 512-byte header and 1024 bytes of data; b.bin's header starts at 1536.
@pytest.mark.parametrize("cut", [1536, 1536 + 100, 3072, 3072 + 511])
def test_a_plain_tar_cut_at_or_inside_a_header_is_refused(cut: int, tmp_path: Path) -> None:
    into = tmp_path / "into"
    into.mkdir()
    cut_tar = tmp_path / "model.tar"
    cut_tar.write_bytes(_plain_tar()[:cut])
    with pytest.raises(StorageError, match=r"cannot unpack model\.tar: .*truncated"):
        archive.unpack(cut_tar, into, limits=Limits())


@pytest.mark.parametrize("keep", [3072 + 512, 3072 + 1024, None])
def test_a_plain_tar_with_its_end_block_unpacks(keep: int | None, tmp_path: Path) -> None:
    # Writers pad to 10 KiB with zeros; one zero block after the last member is the end.
    into = tmp_path / "into"
    into.mkdir()
    whole = tmp_path / "model.tar"
    whole.write_bytes(_plain_tar()[:keep])
    archive.unpack(whole, into, limits=Limits())
    assert sorted(p.name for p in into.iterdir()) == ["a.bin", "b.bin"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [("m.tar.gz", True), ("m.TGZ", True), ("m.zip", True), ("m.tar", True), ("model.pkl", False)],
)
def test_is_archive(name: str, expected: bool) -> None:
    assert archive.is_archive(name) is expected


@pytest.mark.parametrize("mode", ["w:gz", "w:bz2", "w:xz"])
def test_a_compressed_tar_bomb_is_refused_before_its_member_is_written(
    mode: str, tmp_path: Path
) -> None:
    bomb = tmp_path / f"bomb.tar.{mode[2:]}"
    with tarfile.open(bomb, mode) as tar:
        info = tarfile.TarInfo("weights.bin")
        info.size = 32 * MIB
        tar.addfile(info, io.BytesIO(bytes(info.size)))
    assert bomb.stat().st_size < 100 * 1024  # tiny download, 32 MiB out
    into = tmp_path / "into"
    into.mkdir()
    with pytest.raises(UnpackLimitError, match=r"bomb\.tar.*STORAGE_UNPACK_MAX_RATIO"):
        archive.unpack(bomb, into, limits=SMALL)
    assert list(into.iterdir()) == []


def test_a_zip_bomb_stops_at_the_allowance(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.bin", bytes(512 * 1024))
        zf.writestr("b.bin", bytes(32 * MIB))
    into = tmp_path / "into"
    into.mkdir()
    with pytest.raises(UnpackLimitError, match="STORAGE_UNPACK_MAX_RATIO"):
        archive.unpack(bomb, into, limits=SMALL)
    assert list(into.iterdir()) == []  # the declared total was over: nothing written at all


def test_a_flood_of_tar_members_stops_at_the_cap(tmp_path: Path) -> None:
    flood = make_tar(tmp_path / "flood.tar.gz", [member(f"f{i}") for i in range(50)])
    into = tmp_path / "into"
    into.mkdir()
    with pytest.raises(UnpackLimitError, match=r"more than 10 members"):
        archive.unpack(flood, into, limits=Limits(max_members=10))
    assert len(list(into.iterdir())) == 10  # read lazily: the rest was never written


def test_a_zip_with_too_many_members_writes_nothing(tmp_path: Path) -> None:
    many = tmp_path / "many.zip"
    with zipfile.ZipFile(many, "w") as zf:
        for i in range(11):
            zf.writestr(f"f{i}", b"x")
    into = tmp_path / "into"
    into.mkdir()
    with pytest.raises(UnpackLimitError, match="STORAGE_UNPACK_MAX_MEMBERS"):
        archive.unpack(many, into, limits=Limits(max_members=10))
    assert list(into.iterdir()) == []


@pytest.mark.parametrize("name", ["model.zip", "model.tar.gz"])
def test_an_incompressible_model_over_the_floor_unpacks(name: str, tmp_path: Path) -> None:
    weights = random.Random(0).randbytes(3 * MIB)  # like real weights: compresses hardly at all
    source = tmp_path / name
    if name.endswith(".zip"):
        with zipfile.ZipFile(source, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("dir/", b"")
            zf.writestr("dir/weights.bin", weights)
            zf.writestr("config.json", b"{}" * 1000)
    else:
        make_tar(source, [member("dir/weights.bin")], data=weights)
    into = tmp_path / "into"
    into.mkdir()
    archive.unpack(source, into, limits=SMALL)
    assert (into / "dir" / "weights.bin").read_bytes() == weights


def test_an_encrypted_zip_member_is_reported_in_one_line(tmp_path: Path) -> None:
    locked = tmp_path / "locked.zip"
    with zipfile.ZipFile(locked, "w") as zf:
        zf.writestr("m.bin", b"x")
    raw = bytearray(locked.read_bytes())
    for signature, flags_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = raw.find(signature) + flags_at
        raw[at] |= 0x01  # the "encrypted" flag
    locked.write_bytes(bytes(raw))
    with pytest.raises(StorageError, match=r"cannot unpack locked\.zip: .*encrypted"):
        archive.unpack(locked, tmp_path, limits=Limits())


@pytest.mark.parametrize("name", ["model.tar.gz", "model.zip"])
def test_a_member_named_like_its_archive_is_kept_and_the_archive_removed(
    name: str, tmp_path: Path
) -> None:
    # a lone archive is unpacked where it was downloaded: the member must not overwrite the
    # archive being read, nor be deleted as if it were the archive afterwards
    inner = b"the inner file" * 100
    packed = tmp_path / "store" / name
    packed.parent.mkdir()
    if name.endswith(".zip"):
        with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(name, inner)
            zf.writestr("other.txt", b"other")
    else:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            for member_name, data in ((name, inner), ("other.txt", b"other")):
                info = tarfile.TarInfo(member_name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        packed.write_bytes(buf.getvalue())
    dest = tmp_path / "models"
    asyncio.run(fetch(str(packed), dest, settings=StorageSettings()))
    assert sorted(p.name for p in dest.iterdir()) == sorted([name, "other.txt"])
    assert (dest / name).read_bytes() == inner
