"""List, then watch from the list's resourceVersion; list again when the version is gone.

Every object seen is passed to `handler(event_type, obj)`. A relist reports objects deleted
while we were away as DELETED, so a consumer never misses a deletion. Watches restart from
the last resourceVersion (bookmarks keep it fresh) and back off on errors.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

from kserve_controller.kube import errors, resources
from kserve_controller.kube.client import Kube

Obj = dict[str, Any]
Handler = Callable[[str, Obj], Awaitable[None] | None]

log = logging.getLogger(__name__)

WATCH_SECONDS = 290  # the apiserver ends each watch after this; we resume from resourceVersion
MAX_BACKOFF = 8.0
ABSENT_RETRY = 10.0  # seconds between lists of a kind the apiserver does not serve


class Store:
    """A watch's objects by namespace, then name: a pass reads the objects of its own namespace
    without walking every namespace's (with 10,000 InferenceServices in 100 namespaces, walking
    them all for each pass was a quarter of the controller's CPU)."""

    def __init__(self, objects: dict[tuple[str, str], Obj] | None = None) -> None:
        self._by_namespace: dict[str, dict[str, Obj]] = {}
        for key, obj in (objects or {}).items():
            self.put(key, obj)

    def get(self, key: tuple[str, str]) -> Obj | None:
        return self._by_namespace.get(key[0], {}).get(key[1])

    def put(self, key: tuple[str, str], obj: Obj) -> None:
        self._by_namespace.setdefault(key[0], {})[key[1]] = obj

    def pop(self, key: tuple[str, str], default: None = None) -> Obj | None:
        names = self._by_namespace.get(key[0])
        if names is None:
            return default
        found = names.pop(key[1], default)
        if not names:
            del self._by_namespace[key[0]]
        return found

    def items(self) -> Iterator[tuple[tuple[str, str], Obj]]:
        for namespace, names in self._by_namespace.items():
            for name, obj in names.items():
                yield (namespace, name), obj

    def values(self, namespace: str | None = None) -> list[Obj]:
        """Every object, or those of one namespace ("" for cluster-scoped ones)."""
        if namespace is not None:
            return list(self._by_namespace.get(namespace, {}).values())
        return [obj for names in self._by_namespace.values() for obj in names.values()]

    def __len__(self) -> int:
        return sum(len(names) for names in self._by_namespace.values())


@dataclass(eq=False, repr=False)
class Watch:
    """One kind (in one namespace, or all), its objects cached as last seen."""

    kube: Kube
    kind: str
    _: KW_ONLY
    handler: Handler
    namespace: str | None = None
    label_selector: str | None = None
    field_selector: str | None = None
    # Told each time the watch's resourceVersion was gone (410) and it lists again (a metric).
    on_gone: Callable[[str], None] | None = None
    # State, not arguments: set after the first full list; RBAC's last refusal, if any.
    synced: asyncio.Event = field(init=False, default_factory=asyncio.Event)
    forbidden: errors.Forbidden | None = field(init=False, default=None)
    relists: int = field(init=False, default=0)
    _refused: asyncio.Event = field(init=False, default_factory=asyncio.Event)
    _known: Store = field(init=False, default_factory=Store)

    def objects(
        self, namespace: str | None = None, *, labels: dict[str, str] | None = None
    ) -> list[Obj]:
        """The objects seen so far (a cache; may lag the apiserver by one event)."""
        found = []
        for obj in self._known.values(namespace):
            have = obj["metadata"].get("labels") or {}
            if labels and any(have.get(k) != v for k, v in labels.items()):
                continue
            found.append(obj)
        return found

    def get(self, namespace: str | None, name: str) -> Obj | None:
        return self._known.get((namespace or "", name))

    def remember(self, obj: Obj) -> None:
        """Put an object we just wrote (or were told about) in the cache, never an older one.

        Writing through keeps the next pass from comparing against the object as it was
        before our own write, which would cost a needless (no-op) write.
        """
        key = _key(obj)
        if not _older(obj, self._known.get(key)):
            # managedFields are most of an object's size and nobody here reads them.
            obj.get("metadata", {}).pop("managedFields", None)
            self._known.put(key, obj)

    def forget(self, obj: Obj) -> None:
        """Drop an object we just deleted (its DELETED event follows)."""
        self._known.pop(_key(obj), None)

    async def synced_or_refused(self) -> bool:
        """Wait for the first complete list: True, or False if RBAC refused it first."""
        waits = [asyncio.ensure_future(e.wait()) for e in (self.synced, self._refused)]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waits:
                waiter.cancel()
        return self.synced.is_set()

    def __repr__(self) -> str:
        where = self.namespace or "all namespaces"
        return f"watch {self.kind} in {where}"

    async def run(self) -> None:
        backoff = 0.5
        version: str | None = None
        absent = False
        while True:
            try:
                if version is None:
                    version = await self._relist()
                version = await self._watch(version)
                backoff = 0.5
            except errors.Gone:
                log.info("%s: resourceVersion %s is gone, listing again", self, version)
                version = None
                if self.on_gone is not None:
                    self.on_gone(self.kind)
            except errors.NotFound as err:
                # The kind is not served (its CRD is not installed): say it once, look again.
                level = logging.DEBUG if absent else logging.INFO
                log.log(level, "%s: not served by the apiserver (%s); looking again", self, err)
                absent = True
                await self._gone()
                await asyncio.sleep(ABSENT_RETRY)
                version = None
            except errors.KubeError as err:
                if isinstance(err, errors.Forbidden):
                    self.forbidden = err
                    self._refused.set()
                log.warning("%s failed, retrying in %.1fs: %s", self, backoff, err)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                if isinstance(err, errors.Forbidden):
                    version = None  # RBAC may have been granted meanwhile

    def _query(self) -> dict[str, str]:
        query: dict[str, str] = {}
        if self.label_selector:
            query["labelSelector"] = self.label_selector
        if self.field_selector:
            query["fieldSelector"] = self.field_selector
        return query

    async def _relist(self) -> str:
        path = resources.of(self.kind).path(self.namespace)
        found = await self.kube.request("GET", path, query=self._query())
        self.relists += 1
        seen: dict[tuple[str, str], Obj] = {}
        api_version = resources.of(self.kind).api_version
        for item in found.get("items") or []:
            item.setdefault("kind", self.kind)  # list items come without them
            item.setdefault("apiVersion", api_version)
            item.get("metadata", {}).pop("managedFields", None)
            seen[_key(item)] = item
        for key, old in list(self._known.items()):
            if key not in seen:
                await self._emit("DELETED", old)
        for key, item in seen.items():
            before = self._known.get(key)
            version = item["metadata"].get("resourceVersion")
            if before is None or before["metadata"].get("resourceVersion") != version:
                await self._emit("ADDED" if before is None else "MODIFIED", item)
        self._known = Store(seen)
        self.synced.set()
        return str(found.get("metadata", {}).get("resourceVersion", ""))

    async def _watch(self, version: str) -> str:
        query = {
            **self._query(),
            "watch": "true",
            "resourceVersion": version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(WATCH_SECONDS),
        }
        path = resources.of(self.kind).path(self.namespace)
        async for event in self.kube.stream(path, query=query, read_timeout=WATCH_SECONDS + 30):
            kind, obj = event.get("type", ""), event.get("object") or {}
            if kind == "ERROR":
                raise errors.from_status(int(obj.get("code", 500)), obj)
            version = str(obj.get("metadata", {}).get("resourceVersion") or version)
            if kind == "BOOKMARK":
                continue
            obj.setdefault("kind", self.kind)
            if kind == "DELETED":
                self._known.pop(_key(obj), None)
            else:
                self.remember(obj)
            await self._emit(kind, obj)
        return version

    async def _gone(self) -> None:
        """The kind is no longer served (its CRD was deleted): so are its objects."""
        self.synced.clear()
        known, self._known = self._known, Store()
        for obj in known.values():
            await self._emit("DELETED", obj)

    async def _emit(self, kind: str, obj: Obj) -> None:
        try:
            result = self.handler(kind, obj)
            if result is not None:
                await result
        except Exception:
            log.exception("%s: handler failed on %s", self, _key(obj))


def _older(obj: Obj, than: Obj | None) -> bool:
    # resourceVersions are opaque, but etcd's are integers: compare when both are.
    if than is None:
        return False
    a = str(obj.get("metadata", {}).get("resourceVersion", ""))
    b = str(than.get("metadata", {}).get("resourceVersion", ""))
    return a.isdigit() and b.isdigit() and int(a) < int(b)


def _key(obj: Obj) -> tuple[str, str]:
    meta = obj.get("metadata") or {}
    return (str(meta.get("namespace") or ""), str(meta.get("name") or ""))
