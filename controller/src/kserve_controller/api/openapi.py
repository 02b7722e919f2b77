"""Kubernetes type schemas from the apiserver's /openapi/v3, made fit for a CRD.

A CRD schema must be structural: no $ref, a type on every node, no defaults we did not choose.
`Definitions.resolve(name)` inlines one definition recursively and cleans it up. Pure: the
documents are read by the caller (hack/codegen/openapi_snapshot.py).
"""

import copy
from collections.abc import Iterable, Mapping
from typing import Any

Schema = dict[str, Any]

REF_PREFIX = "#/components/schemas/"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
# The pattern controller-gen writes for resource.Quantity, so values like "1Gi" or 2 validate.
QUANTITY_PATTERN = (
    r"^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|"
    r"([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$"
)
# Keywords a CRD schema cannot carry (patch hints) or that we leave to the native API:
# defaults would be written into every stored object, enums only repeat pod validation.
DROPPED = frozenset(
    {"default", "enum", "x-kubernetes-patch-merge-key", "x-kubernetes-patch-strategy",
     "x-kubernetes-unions"}
)  # fmt: skip


class Definitions:
    """The `components.schemas` of one or more OpenAPI v3 documents."""

    def __init__(self, documents: Iterable[Mapping[str, Any]]) -> None:
        self.schemas: dict[str, Schema] = {}
        for document in documents:
            self.schemas.update(document.get("components", {}).get("schemas", {}))

    def resolve(self, name: str, *, descriptions: bool = True) -> Schema:
        """The definition `name`, every reference inlined, ready to embed in a CRD."""
        return self._resolve(name, stack=(), descriptions=descriptions)

    def reachable(self, names: Iterable[str]) -> dict[str, Schema]:
        """The definitions `names` and all they reference: what a snapshot must keep."""
        seen: dict[str, Schema] = {}
        todo = list(names)
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen[name] = self.schemas[name]
            todo.extend(_refs(self.schemas[name]))
        return dict(sorted(seen.items()))

    def _resolve(self, name: str, *, stack: tuple[str, ...], descriptions: bool) -> Schema:
        if name == QUANTITY:
            return {
                "anyOf": [{"type": "integer"}, {"type": "string"}],
                "pattern": QUANTITY_PATTERN,
                "x-kubernetes-int-or-string": True,
            }
        if name == INT_OR_STRING:
            return {
                "anyOf": [{"type": "integer"}, {"type": "string"}],
                "x-kubernetes-int-or-string": True,
            }
        if name in stack:  # a recursive type: keep it as given, unchecked
            return {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
        schema = self.schemas[name]
        return self._clean(schema, stack=(*stack, name), descriptions=descriptions)

    def _clean(self, schema: Schema, *, stack: tuple[str, ...], descriptions: bool) -> Schema:
        ref = _ref_of(schema)
        if ref is not None:
            inner = self._resolve(ref, stack=stack, descriptions=descriptions)
            if descriptions and "description" in schema:
                inner = {**inner, "description": schema["description"]}
            for key, value in schema.items():  # list-type hints sit beside the reference
                if key.startswith("x-kubernetes-") and key not in DROPPED:
                    inner[key] = copy.deepcopy(value)
            return inner
        out: Schema = {}
        for key, value in schema.items():
            if key in DROPPED or (key == "description" and not descriptions):
                continue
            if key == "properties":
                out[key] = {
                    prop: self._clean(sub, stack=stack, descriptions=descriptions)
                    for prop, sub in value.items()
                }
            elif key in ("items", "additionalProperties") and isinstance(value, dict):
                out[key] = self._clean(value, stack=stack, descriptions=descriptions)
            else:
                out[key] = copy.deepcopy(value)
        if "x-kubernetes-list-map-keys" in out and isinstance(schema.get("items"), dict):
            keys = out["x-kubernetes-list-map-keys"]
            self._keep_key_defaults(schema["items"], out["items"], keys)
        if "type" not in out and "properties" in out:
            out["type"] = "object"
        if "type" not in out and "x-kubernetes-int-or-string" not in out:
            out["x-kubernetes-preserve-unknown-fields"] = True
        return out

    def _keep_key_defaults(self, raw_items: Schema, items: Schema, keys: list[str]) -> None:
        # A list-map key must be required or defaulted (e.g. ContainerPort.protocol: TCP), so
        # these defaults survive; the apiserver fills them in just as for a Pod.
        ref = _ref_of(raw_items)
        raw = self.schemas.get(ref, {}) if ref else raw_items
        for key in keys:
            if key in items.get("required", []):
                continue
            default = raw.get("properties", {}).get(key, {}).get("default")
            if default is not None and key in items.get("properties", {}):
                items["properties"][key]["default"] = default


def _ref_of(schema: Schema) -> str | None:
    if "$ref" in schema:
        return str(schema["$ref"]).removeprefix(REF_PREFIX)
    all_of = schema.get("allOf")
    if isinstance(all_of, list) and len(all_of) == 1 and "$ref" in all_of[0]:
        return str(all_of[0]["$ref"]).removeprefix(REF_PREFIX)
    return None


def _refs(node: Any) -> Iterable[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield str(value).removeprefix(REF_PREFIX)
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)
