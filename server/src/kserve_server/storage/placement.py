"""Download into a staging dir, then rename into place: a crash never leaves half a model.

The destination is often a mount point (`/mnt/models` is an emptyDir), which cannot itself be
replaced; then the staging dir lives inside it and its entries are renamed in, one rename each.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

STAGING_PREFIX = ".kserve-download-"


def stage(dest: Path) -> Path:
    """A fresh, empty staging dir on the same filesystem as `dest`."""
    if dest.is_dir():
        for stale in dest.glob(f"{STAGING_PREFIX}*"):  # left by a killed earlier attempt
            shutil.rmtree(stale, ignore_errors=True)
        return Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=dest))
    dest.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{dest.name}-", dir=dest.parent))


def commit(staging: Path, dest: Path) -> None:
    """Move the staged model to `dest`; same-named entries already there are replaced."""
    staging.chmod(0o755)  # mkdtemp makes 0700; the server may run as another user
    if not dest.exists():
        staging.rename(dest)
        return
    for entry in sorted(staging.iterdir()):
        target = dest / entry.name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif target.exists() or target.is_symlink():
            target.unlink()
        entry.rename(target)
    staging.rmdir()


def discard(staging: Path) -> None:
    shutil.rmtree(staging, ignore_errors=True)


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())
