"""Audit events + the controller's grants → what was used, what was not, what was refused (pure),
and the report as Markdown."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from rbacaudit import grants
from rbacaudit.grants import Permission

Obj = dict[str, Any]


@dataclass
class Usage:
    """What one identity asked for, by permission: answered (any status but 403) or refused.
    Counts audit events: one per request, and one more when a watch starts."""

    answered: Counter[Permission] = field(default_factory=Counter)
    refused: Counter[Permission] = field(default_factory=Counter)
    events: int = 0
    # stageTimestamp of the first and last event counted (RFC 3339, UTC: sorts as text)
    first: str = ""
    last: str = ""

    def add(self, events: Iterable[Obj], *, user: str) -> None:
        for event in events:
            if (event.get("user") or {}).get("username") != user:
                continue
            ref = event.get("objectRef")
            if not ref or event.get("stage") not in ("ResponseComplete", "ResponseStarted"):
                continue  # discovery (/apis, /version): non-resource URLs, not the ClusterRole's
            if event["stage"] == "ResponseStarted" and event.get("verb") != "watch":
                continue  # only a watch may never complete
            self.events += 1
            stamp = str(event.get("stageTimestamp") or "")
            if stamp:
                self.first = min(self.first or stamp, stamp)
                self.last = max(self.last, stamp)
            resource = ref.get("resource", "")
            if ref.get("subresource"):
                resource += f"/{ref['subresource']}"
            perm = Permission(ref.get("apiGroup", ""), resource, event.get("verb", ""))
            code = (event.get("responseStatus") or {}).get("code")
            (self.refused if code == 403 else self.answered)[perm] += 1
            if code == 201 and perm.verb in ("patch", "update"):
                # A server-side apply (or PUT) that made the object is also authorized as
                # create; the log names only the request's own verb.
                self.answered[Permission(perm.group, perm.resource, "create")] += 1

    def merge(self, other: Usage) -> None:
        self.answered.update(other.answered)
        self.refused.update(other.refused)
        self.events += other.events
        stamps = [t for t in (self.first, other.first) if t]
        self.first = min(stamps) if stamps else ""
        self.last = max(self.last, other.last)


@dataclass(frozen=True)
class Source:
    """One audit log read: where, and the controller's events in it."""

    path: str
    usage: Usage

    def shown(self) -> str:
        u = self.usage
        span = f", {u.first} to {u.last}" if u.first else ""
        return f"`{self.path}` ({u.events} events{span})"


def events(lines: Iterable[str]) -> Iterable[Obj]:
    for line in lines:
        if line.strip():
            yield json.loads(line)


@dataclass(frozen=True)
class Verdict:
    permission: Permission
    requests: int
    why: str  # "used", "rare: <path>", "UNUSED"


def judge(granted: set[Permission], usage: Usage) -> list[Verdict]:
    out = []
    for perm in sorted(granted):
        count = sum(n for used, n in usage.answered.items() if perm.covers(used))
        rare = grants.rare_path(perm, granted)
        why = "used" if count else f"rare: {rare}" if rare else "UNUSED"
        out.append(Verdict(perm, count, why))
    return out


def unused(verdicts: list[Verdict]) -> list[Verdict]:
    return [v for v in verdicts if v.why == "UNUSED"]


def markdown(verdicts: list[Verdict], usage: Usage, *, user: str, sources: list[Source]) -> str:
    lines = [
        "# The controller's RBAC: granted vs used",
        "",
        f"Identity: `{user}`. Audit logs (its requests): "
        + ", ".join(source.shown() for source in sources)
        + ".",
        "",
        f"{len(verdicts)} permissions granted: {sum(v.why == 'used' for v in verdicts)} used, "
        f"{sum(v.why.startswith('rare') for v in verdicts)} needed on rare paths only, "
        f"{len(unused(verdicts))} unused.",
        "",
        "| API group | resource | verb | audit events | verdict |",
        "|---|---|---|---:|---|",
    ]
    for v in verdicts:
        p = v.permission
        lines.append(f"| {p.group or 'core'} | {p.resource} | {p.verb} | {v.requests} | {v.why} |")
    granted = [v.permission for v in verdicts]
    refused = sorted(usage.refused.items())
    missing = [(p, n) for p, n in refused if not any(g.covers(p) for g in granted)]
    denied = [(p, n) for p, n in refused if (p, n) not in missing]
    if missing:
        lines += ["", "Refused (403): asked for without a grant.", ""]
        lines += [f"- {p.shown()}: {n}" for p, n in missing]
    if denied:
        lines += [
            "",
            "Refused (403) though granted: a write into a namespace being deleted is refused "
            "with 403 too, and a controller still running while its RBAC is uninstalled is "
            "refused everything.",
            "",
        ]
        lines += [f"- {p.shown()}: {n}" for p, n in denied]
    return "\n".join(lines) + "\n"
