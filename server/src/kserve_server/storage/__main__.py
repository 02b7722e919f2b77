"""`kserve-storage-initializer <storageUri> [<destDir>] [<storageUri> <destDir> ...]`.

Exit 0 when every model is in place; else exit 1 with a one-line reason on stderr, also written
to the termination log (when it exists) so `kubectl describe pod` and the controller show it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import pydantic

from kserve_server.storage import fetch, storage_config
from kserve_server.storage.errors import StorageError
from kserve_server.storage.settings import StorageSettings

DEFAULT_DEST = Path("/mnt/models")
TERMINATION_LOG_LIMIT = 4096  # the kubelet keeps no more than this
USAGE = "usage: kserve-storage-initializer <storageUri> [<destDir>] [<storageUri> <destDir> ...]"
log = logging.getLogger("kserve_server.storage")


def pairs(argv: Sequence[str]) -> list[tuple[str, Path]]:
    if len(argv) == 1:
        return [(argv[0], DEFAULT_DEST)]
    if not argv or len(argv) % 2:
        raise SystemExit(USAGE)
    return [(argv[i], Path(argv[i + 1])) for i in range(0, len(argv), 2)]


def headers_from_env(environ: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """Upstream's `<hostname>-headers` variables: a JSON object of extra request headers."""
    found: dict[str, dict[str, str]] = {}
    for name, value in environ.items():
        if name.endswith("-headers"):
            try:
                parsed = json.loads(value)
            except ValueError as err:
                raise StorageError(f"{name} is not a JSON object of headers") from err
            if not isinstance(parsed, dict):
                raise StorageError(f"{name} is not a JSON object of headers")
            found[name.removesuffix("-headers")] = {str(k): str(v) for k, v in parsed.items()}
    return found


async def run(jobs: list[tuple[str, Path]], *, settings: StorageSettings) -> None:
    for uri, dest in jobs:
        await fetch(uri, dest, settings=settings)


def main(argv: Sequence[str] | None = None) -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr
    )
    logging.getLogger("botocore").setLevel(logging.WARNING)
    jobs = pairs(sys.argv[1:] if argv is None else argv)
    try:
        spec = storage_config.settings_from(
            os.environ.get("STORAGE_CONFIG"), os.environ.get("STORAGE_OVERRIDE_CONFIG")
        )
        settings = StorageSettings(http_headers=headers_from_env(os.environ), **spec)
    except pydantic.ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        _fail(f"invalid setting {where}: {first['msg']}", Path("/dev/termination-log"))
    except StorageError as err:
        _fail(str(err), Path("/dev/termination-log"))
    try:
        asyncio.run(run(jobs, settings=settings))
    except StorageError as err:
        _fail(str(err), settings.termination_log)
    except KeyboardInterrupt:
        _fail("interrupted", settings.termination_log)
    except Exception as err:  # a bug of ours: still one line, the reason kept
        _fail(f"unexpected {type(err).__name__}: {err}", settings.termination_log)


def _fail(reason: str, termination_log: Path) -> None:
    line = reason.splitlines()[0] if reason else "failed"
    print(f"storage-initializer: error: {line}", file=sys.stderr)
    if termination_log.exists():
        try:
            with termination_log.open("w") as out:
                out.write(line[:TERMINATION_LOG_LIMIT])
        except OSError as err:
            print(f"storage-initializer: cannot write {termination_log}: {err}", file=sys.stderr)
    sys.exit(1)


if __name__ == "__main__":
    main()
