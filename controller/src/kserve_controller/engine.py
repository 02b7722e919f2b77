"""One reconcile path for every kind: observe → plan → differs → apply/delete → status → events.

A controller (controllers/) declares its kind, what it owns, which watched objects concern
which of its keys (`sources`), and builds a `Plan`, a status and the events a status change
deserves. The engine does the rest the same way for every kind, with one queue and one record
of what it last applied; what to write is decided by decide.py (pure).
"""

from __future__ import annotations

import asyncio
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal, NamedTuple

from pydantic import ValidationError

from kserve_controller import diff
from kserve_controller.config import ControllerConfig
from kserve_controller.decide import Actions, Ref, Slot, decide, digest, ref, slot, version
from kserve_controller.errors import InvalidSpec, NotServed, Transient, Waiting
from kserve_controller.kube import errors as kube_errors
from kserve_controller.kube.client import Kube
from kserve_controller.kube.events import Recorder
from kserve_controller.metrics import Metrics
from kserve_controller.queue import WorkQueue
from kserve_controller.reads import Reads

Obj = dict[str, Any]
Observed = dict[Ref, Obj | None]
log = logging.getLogger(__name__)

SPOKEN = {
    "Deployment": "deployment",
    "Service": "service",
    "HorizontalPodAutoscaler": "horizontal pod autoscaler",
    "ScaledObject": "KEDA scaled object",
    "Ingress": "ingress",
}
REJECTED = "RejectedByApiServer"  # an owned object the apiserver refuses (422)


class ObjectKey(NamedTuple):
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"

    @classmethod
    def of(cls, obj: Obj) -> ObjectKey:
        meta = obj["metadata"]
        return cls(str(meta.get("namespace") or ""), str(meta["name"]))


KeyMap = Callable[[Obj, Reads], Iterable[ObjectKey]]


@dataclass(frozen=True)
class Source:
    """A watched kind, and which keys of a controller an event of it concerns.

    `scope`: "watched" (the namespaces the controller serves) or "all" (every namespace, and
    cluster-scoped kinds). `cached`: reads of this kind may come from the watch. `optional`:
    RBAC may forbid the watch; the controller then reads by GET and says so once (`hint`).
    `wait`: the first passes wait for its first list.
    """

    kind: str
    keys: KeyMap
    label_selector: str | None = None
    scope: Literal["watched", "all"] = "watched"
    cached: bool = True
    optional: bool = False
    wait: bool = True
    hint: str = ""


def own_key(obj: Obj, reads: Reads) -> list[ObjectKey]:
    return [ObjectKey.of(obj)]


def by_label(label: str) -> KeyMap:
    """An owned object names its owner in a label (the owner's name)."""

    def keys(obj: Obj, reads: Reads) -> list[ObjectKey]:
        owner = (obj["metadata"].get("labels") or {}).get(label)
        return [ObjectKey(obj["metadata"]["namespace"], owner)] if owner else []

    return keys


@dataclass(frozen=True)
class Plan:
    """What a pass wants: objects to apply (in order), owned objects that should not exist,
    and the controller's own facts for `status` (`context`)."""

    objects: list[Obj]
    unwanted: list[Ref] = field(default_factory=list)
    context: Any = None
    retry_after: float | None = None  # look again then, though nothing changes meanwhile

    def refs(self) -> list[Ref]:
        return [ref(o) for o in self.objects] + [r for r in self.unwanted]


@dataclass(frozen=True)
class Event:
    type: Literal["Normal", "Warning"]
    reason: str
    message: str


def utcnow() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Context:
    """What every controller may use; the manager swaps `config` when the ConfigMap changes."""

    kube: Kube
    reads: Reads
    recorder: Recorder
    config: ControllerConfig
    namespace: str = "kserve"  # the controller's own (where the CA bundle source lives)
    now: Callable[[], str] = utcnow
    on_write: Callable[[str, str], None] = field(default=lambda verb, kind: None)


class Controller(ABC):
    """One kind on the engine. Subclasses declare the class attributes and the steps."""

    kind: ClassVar[str]
    spoken: ClassVar[str]  # "inference service", for log lines
    owner_label: ClassVar[str]  # the label naming the owner on every owned object
    owned: ClassVar[tuple[str, ...]]
    # Owned kinds whose API a cluster may not serve (a CRD not installed): not waited for.
    maybe_absent: ClassVar[tuple[str, ...]] = ()

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    @classmethod
    def owned_sources(cls) -> list[Source]:
        return [
            Source(
                kind,
                keys=by_label(cls.owner_label),
                label_selector=cls.owner_label,
                wait=kind not in cls.maybe_absent,
            )
            for kind in cls.owned
        ]

    def sources(self) -> list[Source]:
        """The primary kind, the owned kinds, and what else concerns this kind's objects."""
        return [Source(self.kind, keys=own_key), *self.owned_sources()]

    @abstractmethod
    async def plan(self, obj: Obj) -> Plan:
        """The objects wanted; raise InvalidSpec, Waiting or Transient when there are none."""

    def held(self, obj: Obj, plan: Plan, observed: Observed) -> set[Ref]:
        """Objects of the plan not to create or update yet, given what exists."""
        return set()

    @abstractmethod
    def status(self, obj: Obj, plan: Plan, observed: Observed) -> Obj: ...

    @abstractmethod
    def invalid_status(self, obj: Obj, err: NotServed) -> Obj: ...

    def announce(self, obj: Obj, old: Obj, new: Obj) -> list[Event]:
        """Events a status change deserves (Ready, no longer Ready)."""
        return []


def invalid_from_validation(err: ValidationError, *, reason: str) -> InvalidSpec:
    """A pydantic error on `spec` as InvalidSpec naming the first field at fault."""
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    return InvalidSpec(reason, f"spec.{where}: {first['msg']}")


# -- the engine ---------------------------------------------------------------------------


class Engine:
    """One controller's queue and passes."""

    def __init__(
        self, controller: Controller, *, workers: int, metrics: Metrics | None = None
    ) -> None:
        self.controller = controller
        self.ctx = controller.ctx
        self.metrics = metrics
        self.queue: WorkQueue[ObjectKey] = WorkQueue(
            self._pass, workers=workers, on_error=self._failed
        )
        self.applied: dict[ObjectKey, dict[Slot, tuple[str, str]]] = {}
        self._background: set[asyncio.Task[Any]] = set()

    @property
    def kind(self) -> str:
        return self.controller.kind

    def resync(self) -> None:
        for obj in self.ctx.reads.cached(self.kind):
            self.queue.add(ObjectKey.of(obj))

    async def _pass(self, key: ObjectKey) -> float | None:
        started = time.perf_counter()
        try:
            result = await self.reconcile(key)
            if self.metrics is not None:
                self.metrics.reconciles.labels("success").inc()
            return result
        finally:
            if self.metrics is not None:
                self.metrics.duration.observe(time.perf_counter() - started)

    async def reconcile(self, key: ObjectKey) -> float | None:
        ctl, reads = self.controller, self.ctx.reads
        obj = await reads.get(ctl.kind, key.namespace, key.name)
        if obj is None or obj["metadata"].get("deletionTimestamp"):
            self.applied.pop(key, None)
            return None  # deleted: owned objects go by garbage collection
        try:
            plan = await ctl.plan(obj)
            refs = plan.refs()
            observed: Observed = dict(
                zip(refs, await reads.get_all(refs, namespace=key.namespace), strict=True)
            )
            actions = decide(
                plan.objects,
                plan.unwanted,
                observed,
                owner_uid=str(obj["metadata"].get("uid", "")),
                applied=self.applied.get(key, {}),
                held=ctl.held(obj, plan, observed),
            )
            level = logging.INFO if actions else logging.DEBUG
            log.log(level, "Reconciling %s %s in namespace %s", ctl.spoken, key.name, key.namespace)
            await self._act(key, obj, actions, observed)
        except NotServed as err:
            return await self._not_served(obj, err)
        except Transient as err:
            if err.delay is None:
                raise
            log.info("%s %s: %s; again in %.0fs", ctl.kind, key, err, err.delay)
            return err.delay
        await self._write_status(obj, ctl.status(obj, plan, observed))
        return plan.retry_after

    async def _act(self, key: ObjectKey, obj: Obj, actions: Actions, observed: Observed) -> None:
        for want in actions.create:
            log.info("Creating %s %s in namespace %s", _spoken(want["kind"]), *_where(want))
        for want in actions.update:
            changed = diff.differences(want, observed.get(ref(want)))
            name, namespace = _where(want)
            log.info(
                "Updating %s %s in namespace %s: %s",
                _spoken(want["kind"]),
                name,
                namespace,
                _brief(changed),
            )
        # The objects do not depend on each other: apply them together.
        results = await asyncio.gather(
            *(self._apply(key, o) for o in actions.writes), return_exceptions=True
        )
        rejected: tuple[Obj, kube_errors.Invalid] | None = None
        for want, result in zip(actions.writes, results, strict=True):
            if isinstance(result, kube_errors.Invalid):
                rejected = rejected or (want, result)
            elif isinstance(result, BaseException):
                raise result
            else:
                observed[ref(want)] = result
        if rejected is not None:
            want, err = rejected
            kind, name = ref(want)
            raise InvalidSpec(REJECTED, f"the apiserver refused {kind} {name}: {err.message}")
        for kind, name in actions.delete:
            where = key.namespace
            log.info("Deleting %s %s in namespace %s: no longer wanted", _spoken(kind), name, where)
            await self.ctx.kube.delete(kind, key.namespace, name)
            self.ctx.reads.drop(kind, key.namespace, name)
            self.ctx.on_write("delete", kind)
            observed[(kind, name)] = None
        if actions:  # one Event per pass that changed something, for `kubectl describe`
            reason = "Created" if not (actions.update or actions.delete) else "Updated"
            await self.ctx.recorder.event(
                obj, kind="Normal", reason=reason, message=actions.summary()
            )

    async def _apply(self, key: ObjectKey, want: Obj) -> Obj:
        applied = await self.ctx.kube.apply(want)
        applied.setdefault("kind", want["kind"])
        self.applied.setdefault(key, {})[slot(want)] = (digest(want), version(applied))
        self.ctx.reads.remember(applied)
        self.ctx.on_write("apply", want["kind"])
        return applied

    async def _not_served(self, obj: Obj, err: NotServed) -> float | None:
        ctl = self.controller
        name, namespace = _where(obj)
        if await self._write_status(obj, ctl.invalid_status(obj, err)):
            if isinstance(err, Waiting):
                log.info(
                    "%s %s in namespace %s waits: %s: %s",
                    ctl.kind,
                    name,
                    namespace,
                    err.reason,
                    err.message,
                )
            else:
                log.warning(
                    "%s %s in namespace %s cannot be served: %s: %s",
                    ctl.kind,
                    name,
                    namespace,
                    err.reason,
                    err.message,
                )
        await self.ctx.recorder.event(
            obj, kind=err.event_type, reason=err.reason, message=err.message
        )
        return err.retry_after

    async def _write_status(self, obj: Obj, new: Obj) -> bool:
        old = obj.get("status") or {}
        if new == old:
            return False
        kind, (name, namespace) = self.controller.kind, _where(obj)
        updated = await self.ctx.kube.apply_status(kind, namespace, name, new)
        updated.setdefault("kind", kind)
        self.ctx.reads.remember(updated)
        self.ctx.on_write("status", kind)
        for event in self.controller.announce(obj, old, new):
            level = logging.INFO if event.type == "Normal" else logging.WARNING
            log.log(level, "%s (namespace %s)", event.message, namespace)
            await self.ctx.recorder.event(
                obj, kind=event.type, reason=event.reason, message=event.message
            )
        return True

    def _failed(self, key: ObjectKey, err: Exception) -> None:
        if self.metrics is not None:
            self.metrics.errors.inc()
            self.metrics.reconciles.labels("error").inc()
        log.warning("Reconcile of %s %s failed, will retry: %s", self.controller.spoken, key, err)
        obj = self.ctx.reads.known(self.kind, key.namespace, key.name)
        if obj is not None:  # say it where users look: kubectl describe
            task = asyncio.create_task(
                self.ctx.recorder.event(obj, kind="Warning", reason="Failed", message=str(err))
            )
            self._background.add(task)
            task.add_done_callback(self._background.discard)


def _where(obj: Obj) -> tuple[str, str]:
    meta = obj["metadata"]
    return str(meta["name"]), str(meta.get("namespace") or "")


def _spoken(kind: str) -> str:
    return SPOKEN.get(kind, kind)


def _brief(paths: list[str]) -> str:
    shown = ", ".join(paths[:3])
    return f"{shown} and {len(paths) - 3} more" if len(paths) > 3 else shown or "metadata"
