"""What a pass writes: does an observed object say what we want, and what to create, update
and delete (pure). The engine acts on the answer; the unit tests hold it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kserve_controller import diff

Obj = dict[str, Any]
Ref = tuple[str, str]  # (kind, name) of an owned object, in its owner's namespace
Slot = tuple[str, str, str]  # (kind, namespace, name)


def ref(obj: Obj) -> Ref:
    return (obj["kind"], obj["metadata"]["name"])


def slot(obj: Obj) -> Slot:
    return (obj["kind"], obj["metadata"]["namespace"], obj["metadata"]["name"])


def digest(obj: Obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()


def version(obj: Obj) -> str:
    return str(obj.get("metadata", {}).get("resourceVersion", ""))


def owned_by(obj: Obj | None, uid: str) -> bool:
    refs = (obj or {}).get("metadata", {}).get("ownerReferences") or []
    return any(r.get("uid") == uid for r in refs)


def differs(
    desired: Obj, observed: Obj | None, *, owner_uid: str, last: tuple[str, str] | None
) -> bool:
    """Does `observed` need a write to say what `desired` says?

    `last`: (digest of what we applied, resourceVersion it got). If nobody touched the object
    since, it is as we want it even when the apiserver dropped or rewrote a field we set (a
    disabled feature gate, say): no write loop.
    """
    if observed is None or not owned_by(observed, owner_uid):
        return True
    if last is not None and last == (digest(desired), version(observed)):
        return False
    # Owner references are checked above; other owners may be listed beside us.
    meta = {k: v for k, v in desired["metadata"].items() if k != "ownerReferences"}
    return not diff.matches({**desired, "metadata": meta}, observed)


@dataclass
class Actions:
    create: list[Obj] = field(default_factory=list)
    update: list[Obj] = field(default_factory=list)
    delete: list[Ref] = field(default_factory=list)
    held: list[Ref] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.create or self.update or self.delete)

    @property
    def writes(self) -> list[Obj]:
        return [*self.create, *self.update]

    def summary(self) -> str:
        """One line: "Created Deployment a; Updated Service a; Deleted Ingress b"."""
        done = [
            *(f"Created {' '.join(ref(o))}" for o in self.create),
            *(f"Updated {' '.join(ref(o))}" for o in self.update),
            *(f"Deleted {' '.join(r)}" for r in self.delete),
        ]
        return "; ".join(done) or "nothing to change"


def decide(
    objects: list[Obj],
    unwanted: list[Ref],
    observed: Mapping[Ref, Obj | None],
    *,
    owner_uid: str,
    applied: Mapping[Slot, tuple[str, str]],
    held: set[Ref],
) -> Actions:
    """What to create, update and delete so that `objects` exist as written and `unwanted`
    objects of ours do not."""
    actions = Actions()
    for obj in objects:
        before = observed.get(ref(obj))
        if ref(obj) in held:
            actions.held.append(ref(obj))
        elif differs(obj, before, owner_uid=owner_uid, last=applied.get(slot(obj))):
            (actions.create if before is None else actions.update).append(obj)
    actions.delete = [r for r in unwanted if owned_by(observed.get(r), owner_uid)]
    return actions
