"""Does the observed object already say what we want? (pure)

Only the fields we set are compared: the apiserver adds defaults (and other controllers,
such as the HPA on `replicas`, own fields we never set), so "desired is contained in
observed" means nothing to do. Quantities compare by value ("1000m" == "1"), and an empty
desired value matches a missing one, since the apiserver drops empty fields.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

_QUANTITY = re.compile(r"^([+-]?[0-9.]+)([a-zA-Z]*)$")
# Decimal suffixes step by 1000 (k, M, G ...), binary ones by 1024 (Ki, Mi, Gi ...).
_SUFFIX = {
    "": Decimal(1),
    "m": Decimal("0.001"),
    **{s: Decimal(1000) ** (i + 1) for i, s in enumerate("kMGTPE")},
    **{f"{s}i": Decimal(1024) ** (i + 1) for i, s in enumerate("KMGTPE")},
}


def differences(desired: Any, observed: Any, path: str = "") -> list[str]:
    """Paths (like `spec.template.spec.containers[0].args`) where observed differs."""
    if isinstance(desired, dict):
        if not isinstance(observed, dict):
            return [] if not desired and observed is None else [path or "."]
        out: list[str] = []
        for key, value in desired.items():
            out += differences(value, observed.get(key), f"{path}.{key}" if path else key)
        return out
    if isinstance(desired, list):
        if observed is None and not desired:
            return []
        if not isinstance(observed, list) or len(observed) != len(desired):
            return [path]
        out = []
        for i, (want, have) in enumerate(zip(desired, observed, strict=True)):
            out += differences(want, have, f"{path}[{i}]")
        return out
    return [] if _equal(desired, observed) else [path]


def matches(desired: Any, observed: Any) -> bool:
    return not differences(desired, observed)


def _equal(want: Any, have: Any) -> bool:
    if want == have:
        return True
    if isinstance(want, str) and isinstance(have, str):
        a, b = quantity(want), quantity(have)
        return a is not None and a == b
    return False


def quantity(value: str) -> Decimal | None:
    """A Kubernetes quantity's value, or None when the string is not one."""
    match = _QUANTITY.match(value.strip())
    if match is None or match.group(2) not in _SUFFIX:
        return None
    try:
        return Decimal(match.group(1)) * _SUFFIX[match.group(2)]
    except InvalidOperation:
        return None
