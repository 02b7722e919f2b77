"""Fetch every InferenceService's model into the local cache with the storage initializer."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from kserve_local import runtimes, storage_map
from kserve_local.manifests import Served
from kserve_server.settings import ModelSpec
from kserve_server.storage import fetch, uris
from kserve_server.storage.settings import StorageSettings

log = logging.getLogger(__name__)


async def prepare(
    served: list[Served],
    *,
    cache: Path,
    mapping: dict[str, str],
    settings: StorageSettings,
) -> list[ModelSpec]:
    """Download all models concurrently; the model server's specs, in the order given."""
    frameworks = [runtimes.framework(item.model) for item in served]

    async def one(item: Served) -> Path:
        uri = storage_map.apply(str(item.model.storage_uri), mapping)
        if uris.scheme_of(uri) == "pvc":
            raise ValueError(
                f"{item.source}: {uri} is a cluster volume; map it to a local path with "
                f"--storage-map {uri}=/path/on/this/machine"
            )
        if uri != item.model.storage_uri:
            log.info("%s: storageUri %s served from %s", item.name, item.model.storage_uri, uri)
        dest = cache / item.namespace / item.name
        await fetch(uri, dest, settings=settings)
        return dest

    dirs = await asyncio.gather(*(one(item) for item in served))
    return [
        ModelSpec(name=item.name, model_dir=path, framework=framework)
        for item, path, framework in zip(served, dirs, frameworks, strict=True)
    ]
