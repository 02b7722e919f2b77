"""`--storage-map FROM=TO`: serve a storageUri from somewhere else, the YAML left as written.

So the tutorial's YAML (gs://kfserving-examples/..., a GitHub release URL) runs offline against
models made on this machine; the longest matching FROM prefix wins.
"""

from __future__ import annotations

from collections.abc import Iterable


class StorageMapError(ValueError):
    pass


def parse(entries: Iterable[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for entry in entries:
        for raw in entry.replace("\n", ",").split(","):
            item = raw.strip()
            if not item:
                continue
            source, sep, target = item.partition("=")
            if not sep or not source or not target:
                raise StorageMapError(f"storage map entry {item!r}: expected FROM=TO")
            mapping[source] = target
    return mapping


def apply(uri: str, mapping: dict[str, str]) -> str:
    for source in sorted(mapping, key=len, reverse=True):
        if uri == source or uri.startswith(source.rstrip("/") + "/"):
            return mapping[source] + uri[len(source) :]
    return uri
