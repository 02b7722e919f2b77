"""Staging then rename: a destination holds a whole model or what it held before."""

from __future__ import annotations

from pathlib import Path

from kserve_server.storage import placement


def test_a_new_destination_is_one_rename(tmp_path: Path) -> None:
    dest = tmp_path / "cache" / "iris"
    staging = placement.stage(dest)
    assert staging.parent == dest.parent and not dest.exists()
    (staging / "model.joblib").write_bytes(b"m")
    placement.commit(staging, dest)
    assert [p.name for p in dest.iterdir()] == ["model.joblib"]
    assert list(dest.parent.iterdir()) == [dest]
    assert dest.stat().st_mode & 0o777 == 0o755


def test_an_existing_mount_point_gets_entries_moved_in_and_replaced(tmp_path: Path) -> None:
    dest = tmp_path / "mnt-models"
    dest.mkdir()
    (dest / "model.joblib").write_bytes(b"old")
    (dest / "sub").mkdir()
    (dest / "sub" / "old.txt").write_bytes(b"old")
    staging = placement.stage(dest)
    assert staging.parent == dest
    (staging / "model.joblib").write_bytes(b"new")
    (staging / "sub").mkdir()
    (staging / "sub" / "new.txt").write_bytes(b"new")
    placement.commit(staging, dest)
    assert sorted(str(p.relative_to(dest)) for p in dest.rglob("*")) == [
        "model.joblib",
        "sub",
        "sub/new.txt",
    ]
    assert (dest / "model.joblib").read_bytes() == b"new"


def test_a_discarded_stage_leaves_the_destination_untouched(tmp_path: Path) -> None:
    dest = tmp_path / "mnt"
    dest.mkdir()
    (dest / "model.joblib").write_bytes(b"old")
    staging = placement.stage(dest)
    (staging / "model.joblib").write_bytes(b"half")
    placement.discard(staging)
    assert [p.name for p in dest.iterdir()] == ["model.joblib"]
    assert (dest / "model.joblib").read_bytes() == b"old"
