"""The subset of GJSON path syntax that InferenceGraph conditions use (upstream's router
evaluates conditions with tidwall/gjson; a step is taken when the path *exists* in the JSON).

Supported, as GJSON defines it:
- keys separated by `.`; `\\` escapes a special character in a key (`a\\.b`);
- `*` and `?` wildcards in a key (first matching key, in document order);
- a number as a key indexes an array (`instances.0`);
- `#` as the last key: the length of an array (exists when the value is an array);
- `#(query)` (first element matching) and `#(query)#` (all matches; exists if any) on an array,
  where query is `path`, or `path OP value` with OP one of `== != < <= > >= % !%`
  (`%` is GJSON's like: `*` and `?` wildcards). The value is compared as the element's JSON
  type: numbers as numbers, strings as strings (quoted or not), `true`/`false` as booleans;
- `@this` (the current value), and a leading `[@this]` (an array holding the whole document,
  as in upstream's example `[@this].#(source==client)`).

Anything else (pipes `|`, other modifiers, multipaths, nested queries) raises PathSyntaxError
when the graph is loaded, so an unsupported condition fails at start-up, not per request.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from typing import Any

MISSING: Any = object()
OPS = ("==", "!=", "<=", ">=", "<", ">", "!%", "%")
_SPECIAL = set("|{}[]@!")


class PathSyntaxError(ValueError):
    """A condition uses GJSON syntax this router does not implement."""


@dataclass(frozen=True)
class Query:
    path: Path | None  # None: compare the element itself
    op: str | None  # None: the path exists
    value: str
    all_matches: bool


@dataclass(frozen=True)
class Path:
    source: str
    wrap_root: bool
    parts: tuple[str | Query, ...]


def compile(source: str) -> Path:
    """Parse `source` once; PathSyntaxError names what is unsupported."""
    text, wrap = source, False
    if text.startswith("[@this]"):
        text, wrap = text[len("[@this]") :], True
        if text and not text.startswith("."):
            raise PathSyntaxError(f"{source!r}: expected '.' after [@this]")
        text = text[1:]
    parts = tuple(_part(p, source) for p in _split(text, source)) if text else ()
    return Path(source=source, wrap_root=wrap, parts=parts)


def exists(path: Path, document: Any) -> bool:
    return get(path, document) is not MISSING


def get(path: Path, document: Any) -> Any:
    """The value at `path`, or MISSING."""
    value = [document] if path.wrap_root else document
    for part in path.parts:
        value = _step(value, part)
        if value is MISSING:
            return MISSING
    return value


def _split(text: str, source: str) -> list[str]:
    parts, current, depth, i = [], "", 0, 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            current += text[i : i + 2]
            i += 2
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "." and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += ch
        i += 1
    if depth != 0:
        raise PathSyntaxError(f"{source!r}: unbalanced parentheses")
    parts.append(current)
    if any(p == "" for p in parts):
        raise PathSyntaxError(f"{source!r}: empty key")
    return parts


def _part(raw: str, source: str) -> str | Query:
    if raw.startswith("#(") and (raw.endswith(")") or raw.endswith(")#")):
        all_matches = raw.endswith(")#")
        inner = raw[2 : -2 if all_matches else -1]
        return _query(inner, source, all_matches=all_matches)
    if raw == "@this":
        return raw
    unescaped = raw.replace("\\\\", "").replace("\\.", "")
    bad = sorted(set(unescaped) & _SPECIAL | ({"#"} if "#" in unescaped and raw != "#" else set()))
    if bad:
        raise PathSyntaxError(
            f"{source!r}: unsupported GJSON syntax {''.join(bad)!r} in {raw!r} "
            "(supported: keys, wildcards, indexes, #, #(query), @this, [@this])"
        )
    return raw


def _query(inner: str, source: str, *, all_matches: bool) -> Query:
    if "#(" in inner:
        raise PathSyntaxError(f"{source!r}: nested queries are not supported")
    match = re.search("|".join(re.escape(op) for op in OPS), inner)
    if match is None:
        return Query(path=compile(inner.strip()), op=None, value="", all_matches=all_matches)
    left, op, right = inner[: match.start()].strip(), match.group(), inner[match.end() :].strip()
    path = compile(left) if left else None
    if len(right) >= 2 and right[0] == right[-1] == '"':
        right = right[1:-1].replace('\\"', '"')
    return Query(path=path, op=op, value=right, all_matches=all_matches)


def _unescape(key: str) -> str:
    return re.sub(r"\\(.)", r"\1", key)


def _step(value: Any, part: str | Query) -> Any:
    if isinstance(part, Query):
        if not isinstance(value, list):
            return MISSING
        found = [v for v in value if _matches(part, v)]
        if part.all_matches:
            return found if found else MISSING
        return found[0] if found else MISSING
    if part == "@this":
        return value
    if part == "#":
        return len(value) if isinstance(value, list) else MISSING
    if isinstance(value, list):
        return value[int(part)] if part.isdigit() and int(part) < len(value) else MISSING
    if not isinstance(value, dict):
        return MISSING
    key = _unescape(part)
    if "*" in part.replace("\\*", "") or "?" in part.replace("\\?", ""):
        return next((v for k, v in value.items() if fnmatch.fnmatchcase(k, part)), MISSING)
    return value.get(key, MISSING)


def _matches(query: Query, element: Any) -> bool:
    value = element if query.path is None else get(query.path, element)
    if value is MISSING:
        return False
    if query.op is None:
        return True
    return _compare(value, query.op, query.value)


def _compare(value: Any, op: str, target: str) -> bool:
    if isinstance(value, bool):
        left: Any = value
        right: Any = target == "true"
        if op not in ("==", "!="):
            left, right = int(value), int(right)
    elif isinstance(value, int | float):
        try:
            left, right = float(value), float(target)
        except ValueError:
            return False
    elif isinstance(value, str):
        if op in ("%", "!%"):
            return fnmatch.fnmatchcase(value, target) == (op == "%")
        left, right = value, target
    else:
        return False  # objects, arrays and null do not compare with a value
    if op in ("%", "!%"):
        return False
    return bool(
        {
            "==": left == right,
            "!=": left != right,
            "<": left < right,
            "<=": left <= right,
            ">": left > right,
            ">=": left >= right,
        }[op]
    )
