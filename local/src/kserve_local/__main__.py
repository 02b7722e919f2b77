"""`kserve-local serve FILE.yaml...`: serve InferenceServices on this machine, no cluster.

Reads the YAML as `kubectl apply -f` would, picks each model's runtime as the controller would,
fetches every storageUri with the storage initializer into a cache, and serves all models from
one model server on 127.0.0.1:8080. Ctrl-C stops it cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import pydantic

from kserve_controller.errors import InvalidSpec
from kserve_local import manifests, models, storage_map
from kserve_server import server
from kserve_server.settings import ServerSettings
from kserve_server.storage import StorageError
from kserve_server.storage.__main__ import headers_from_env
from kserve_server.storage.settings import StorageSettings

log = logging.getLogger("kserve_local")
MAP_ENV = "KSERVE_LOCAL_STORAGE_MAP"


def default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "kserve-py" / "local" / "models"


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="kserve-local", description=__doc__.splitlines()[0])
    commands = root.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve InferenceService YAML files")
    serve.add_argument("files", nargs="+", type=Path, metavar="FILE.yaml")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="HTTP port (8080)")
    serve.add_argument("--cache-dir", type=Path, default=None, help="where models are fetched to")
    serve.add_argument(
        "--storage-map",
        action="append",
        default=[],
        metavar="FROM=TO",
        help=f"serve storageUris starting FROM from TO instead (repeatable; also ${MAP_ENV})",
    )
    return root


def main(argv: Sequence[str] | None = None) -> None:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("botocore").setLevel(logging.WARNING)
    try:
        served = manifests.load(list(args.files))
        mapping = storage_map.parse([os.environ.get(MAP_ENV, ""), *args.storage_map])
        storage = StorageSettings(http_headers=headers_from_env(os.environ))
        settings = ServerSettings(host=args.host, http_port=args.port, grace_period=5.0)
    except (manifests.ManifestError, storage_map.StorageMapError, StorageError) as err:
        _fail(str(err), code=2)
    except pydantic.ValidationError as err:
        _fail(f"invalid setting: {err.errors()[0]['msg']}", code=2)
    for item in served:
        log.info("%s: %s model from %s", item.source, item.model.format, item.model.storage_uri)
        if (warning := item.warning()) is not None:
            log.warning("%s", warning)
    try:
        sys.exit(asyncio.run(_serve(served, settings, mapping=mapping, storage=storage, args=args)))
    except KeyboardInterrupt:  # Ctrl-C while models download; once serving, the server drains
        _fail("interrupted", code=130)
    except InvalidSpec as err:
        _fail(err.message, code=2)
    except (StorageError, ValueError) as err:
        _fail(str(err), code=1)


async def _serve(
    served: list[manifests.Served],
    settings: ServerSettings,
    *,
    mapping: dict[str, str],
    storage: StorageSettings,
    args: argparse.Namespace,
) -> int:
    specs = await models.prepare(
        served, cache=args.cache_dir or default_cache(), mapping=mapping, settings=storage
    )
    return await server.serve(settings, models=specs)


def _fail(reason: str, *, code: int) -> None:
    print(f"kserve-local: error: {reason}", file=sys.stderr)
    sys.exit(code)


if __name__ == "__main__":
    main()
