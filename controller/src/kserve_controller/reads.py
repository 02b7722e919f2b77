"""Reads for every controller: from the watch caches where a synced watch covers the object,
else from the apiserver.

A watch covers a kind in a namespace when it watches that namespace (or all of them) and has
no field selector. Label-selected watches (the owned objects) cover the objects we label:
an unlabelled object of ours is not seen there, and the next apply labels it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from kserve_controller.kube.client import Kube
from kserve_controller.kube.watch import Watch

Obj = dict[str, Any]


class Reads:
    def __init__(self, kube: Kube) -> None:
        self.kube = kube
        self._caches: dict[str, list[Watch]] = {}

    def add(self, watch: Watch) -> None:
        """Use `watch` as a cache of its kind (once synced)."""
        self._caches.setdefault(watch.kind, []).append(watch)

    def discard(self, watch: Watch) -> None:
        """Stop using `watch` (RBAC refused it): reads of its kind go by GET."""
        kept = [w for w in self._caches.get(watch.kind, []) if w is not watch]
        self._caches[watch.kind] = kept

    def _covering(self, kind: str, namespace: str | None, *, synced: bool = True) -> list[Watch]:
        return [
            w
            for w in self._caches.get(kind, [])
            if w.namespace in (None, namespace) and (w.synced.is_set() or not synced)
        ]

    # -- from the caches only (event routing, log lines): never a request ---------------

    def synced(self, kind: str) -> bool:
        """Has a watch of `kind` listed it (so the apiserver serves the kind)?"""
        return any(w.synced.is_set() for w in self._caches.get(kind, []))

    def known(self, kind: str, namespace: str | None, name: str) -> Obj | None:
        for watch in self._covering(kind, namespace, synced=False):
            found = watch.get(namespace, name)
            if found is not None:
                return found
        return None

    def cached(
        self, kind: str, namespace: str | None = None, *, labels: dict[str, str] | None = None
    ) -> list[Obj]:
        """Objects of `kind` (in `namespace`, or in every watched one) seen by the watches."""
        seen: dict[tuple[str, str], Obj] = {}
        for watch in self._caches.get(kind, []):
            if namespace is None or watch.namespace in (None, namespace):
                for obj in watch.objects(namespace, labels=labels):
                    meta = obj["metadata"]
                    seen.setdefault((meta.get("namespace") or "", meta["name"]), obj)
        return list(seen.values())

    # -- reads a pass makes ----------------------------------------------------------------

    async def get(self, kind: str, namespace: str | None, name: str) -> Obj | None:
        watches = self._covering(kind, namespace)
        if not watches:
            return await self.kube.get(kind, namespace, name)
        return next((found for w in watches if (found := w.get(namespace, name)) is not None), None)

    async def get_all(self, refs: list[tuple[str, str]], *, namespace: str) -> list[Obj | None]:
        return list(await asyncio.gather(*(self.get(k, namespace, n) for k, n in refs)))

    async def list(
        self, kind: str, namespace: str | None = None, *, labels: dict[str, str] | None = None
    ) -> list[Obj]:
        if self._covering(kind, namespace):
            return self.cached(kind, namespace, labels=labels)
        selector = ",".join(f"{k}={v}" for k, v in (labels or {}).items()) or None
        return await self.kube.items(kind, namespace, label_selector=selector)

    # -- write-through: the next pass compares with what we wrote, not what we overwrote --

    def remember(self, obj: Obj) -> None:
        meta = obj.get("metadata", {})
        for watch in self._caches.get(obj.get("kind", ""), []):
            if watch.namespace in (None, meta.get("namespace")) and _selects(
                watch.label_selector, meta.get("labels") or {}
            ):
                watch.remember(obj)

    def drop(self, kind: str, namespace: str, name: str) -> None:
        gone = {"metadata": {"namespace": namespace, "name": name}}
        for watch in self._caches.get(kind, []):
            watch.forget(gone)


def _selects(selector: str | None, labels: dict[str, str]) -> bool:
    """Equality and existence selectors ("a=b,c"), the only ones our watches use."""
    for term in filter(None, (selector or "").split(",")):
        key, _, value = term.partition("=")
        if key not in labels or (value and labels[key] != value):
            return False
    return True
