"""file:// URIs and plain paths: hard-linked where the filesystem allows, copied otherwise."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import unquote, urlsplit

from kserve_server.storage.errors import NotFoundError


def source_path(uri: str) -> Path:
    if uri.startswith("file://"):
        parts = urlsplit(uri)
        return Path(unquote(parts.netloc + parts.path) or "/")
    return Path(uri)


def copy(uri: str, into: Path) -> None:
    """Blocking: put the file, or the directory's contents, into `into`."""
    source = source_path(uri)
    if not source.exists():
        raise NotFoundError(f"local path {source} does not exist")
    if source.is_dir():
        shutil.copytree(source, into, dirs_exist_ok=True, copy_function=_link_or_copy)
    else:
        _link_or_copy(str(source), str(into / source.name))


def _link_or_copy(src: str, dst: str) -> None:
    # A link costs nothing for a 10 GB model; it fails across filesystems, then we copy.
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
