"""Where a path under a destination really leads, worked out here, never by realpath.

Python's tar `data` filter checks links with os.path.realpath, which silently stops resolving once
a path grows past PATH_MAX: a chain of symlinks then looks inside while pointing outside
(CVE-2025-4517; fixed only in newer Pythons). Here a path is walked one component at a time,
reading each link with lstat/readlink on a prefix already known to be real directories inside
the root. A `..` above the root or an absolute link target is an escape; a path too long or too
deep to check is refused, never assumed safe.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

MAX_LINKS = 40  # links followed for one path: the kernel's own ELOOP limit


class Outside(Exception):  # noqa: N818
    """The path leaves the root (`escapes`), or cannot be shown not to; `reason` completes
    "member 'x' ..." in a log line."""

    def __init__(self, reason: str, *, escapes: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.escapes = escapes


def split(name: str) -> list[str]:
    """An archive member or link name → components ("" and "." dropped)."""
    return [part for part in name.split("/") if part not in ("", ".")]


def is_absolute(name: str) -> bool:
    return name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":")


def resolve(root: Path, parts: list[str], *, follow_last: bool = True) -> list[str]:
    """The components below `root` that `parts` leads to, every link followed (the last one
    only with `follow_last`). Parts that do not exist yet are taken as written. Raises Outside."""
    done: list[str] = []  # real directories below root (the last entry may be anything)
    todo = list(reversed(parts))
    links = 0
    while todo:
        part = todo.pop()
        if part in ("", "."):
            continue
        if part == "..":
            if not done:
                raise Outside("would be written outside the destination")
            done.pop()
            continue
        here = root.joinpath(*done, part)
        try:
            mode = os.lstat(here).st_mode
        except FileNotFoundError:
            done.append(part)  # not there yet: what follows stays lexical
            continue
        except OSError as err:
            if err.errno in (errno.ENAMETOOLONG, errno.ELOOP):
                raise Outside("leads to a path too long to check", escapes=False) from None
            raise
        if not stat.S_ISLNK(mode) or (not todo and not follow_last):
            done.append(part)
            continue
        links += 1
        if links > MAX_LINKS:
            raise Outside(f"goes through more than {MAX_LINKS} links", escapes=False)
        target = os.readlink(here)
        if is_absolute(target):
            raise Outside("goes through a link to an absolute path")
        todo.extend(reversed(target.split("/")))
    return done


def link_target(root: Path, base: list[str], target: str) -> list[str]:
    """Where a link leads: `target` read from `base` (components below root), which is a symlink's
    own directory, or the archive's root for a hard link."""
    if is_absolute(target):
        raise Outside("is a link to an absolute path")
    try:
        return resolve(root, [*base, *target.split("/")])
    except Outside as err:
        if err.escapes:
            raise Outside("is a link pointing outside the destination") from None
        raise Outside(f"is a link that {err.reason}", escapes=False) from None
