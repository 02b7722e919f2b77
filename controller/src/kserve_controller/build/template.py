"""The tiny subset of Go templates that serving runtimes use in their args and env.

`{{.Name}}`, `{{.Namespace}}`, `{{.Labels.key}}`, `{{.Annotations.key}}` (and any other
string field of `data`, such as `.IngressDomain`), spaces allowed inside the braces.
Anything else is an InvalidSpec naming the placeholder.
"""

from __future__ import annotations

import re
from typing import Any

from kserve_controller.errors import InvalidSpec

_PLACEHOLDER = re.compile(r"\{\{\s*(.*?)\s*\}\}")
_FIELD = re.compile(r"^\.([A-Za-z]+)$|^\.(Labels|Annotations)\.([A-Za-z0-9_./-]+)$")


def render(value: Any, *, data: dict[str, Any]) -> Any:
    """Render every string inside `value` (dicts and lists walked); other values kept."""
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda m: _lookup(m.group(1), data), value)
    if isinstance(value, list):
        return [render(item, data=data) for item in value]
    if isinstance(value, dict):
        return {k: render(v, data=data) for k, v in value.items()}
    return value


def _lookup(expr: str, data: dict[str, Any]) -> str:
    match = _FIELD.match(expr)
    if match is None or (match.group(1) and not isinstance(data.get(match.group(1)), str)):
        raise InvalidSpec(
            "InvalidPredictorSpec",
            f"unsupported placeholder {{{{{expr}}}}}; use "
            + ", ".join(f".{k}" for k, v in data.items() if isinstance(v, str))
            + ", .Labels.<key> or .Annotations.<key>",
        )
    if match.group(1):
        return str(data[match.group(1)])
    # A missing key renders like Go's text/template over a map.
    return str(data[match.group(2)].get(match.group(3), "<no value>"))
