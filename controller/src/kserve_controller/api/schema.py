"""Pydantic model → structural OpenAPI schema for a CRD (no $ref, a type on every node).

Kubernetes types (`K8s` markers, inlined PodSpec/Container) come from `openapi.Definitions`;
constraints come from pydantic's `Field(...)`; CEL rules from `Cel` markers and `cel_rules`.
"""

import copy
import types
import typing
from typing import Any, Literal, Union

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from kserve_controller.api.base import Cel, InlineKubeModel, K8s, KubeModel, Nested, Schema
from kserve_controller.api.openapi import Definitions

JsonSchema = dict[str, Any]


def for_model(model: type[BaseModel], *, definitions: Definitions) -> JsonSchema:
    """The object schema of `model`: its fields, plus an inlined Kubernetes type's fields."""
    properties: dict[str, JsonSchema] = {}
    required: list[str] = []
    inlined: JsonSchema = {}
    if issubclass(model, InlineKubeModel) and model.inline_definition:
        inlined = definitions.resolve(model.inline_definition)
        properties.update(inlined.get("properties", {}))
    for name, info in model.model_fields.items():
        key = info.alias or name
        if key in properties:  # declared for the controller's convenience: keep k8s's schema
            own = copy.deepcopy(properties[key])
            _apply(own, _unwrap(info.annotation, [*info.metadata])[1])
        else:
            own = for_annotation(info.annotation, [*info.metadata], definitions=definitions)
        if info.description:
            own["description"] = info.description
        properties[key] = own
        if info.is_required():
            required.append(key)
    out: JsonSchema = {"type": "object", "properties": dict(sorted(properties.items()))}
    doc = (model.__doc__ or "").strip()
    if doc and not doc.startswith(("A pydantic", "Usage docs")):
        out["description"] = " ".join(doc.split())
    if required:
        out["required"] = sorted(required)
    rules = model.cel_rules if issubclass(model, KubeModel) else ()
    if rules:
        out["x-kubernetes-validations"] = [_rule(r) for r in rules]
    return out


def for_annotation(tp: Any, metadata: list[Any], *, definitions: Definitions) -> JsonSchema:
    """The schema of one field type, with its constraints and markers applied."""
    tp, metadata = _unwrap(tp, metadata)
    k8s = next((m for m in metadata if isinstance(m, K8s)), None)
    if k8s is not None:
        schema = definitions.resolve(k8s.definition)
    else:
        schema = _base(tp, definitions=definitions)
    _apply(schema, metadata)
    return schema


def _unwrap(tp: Any, metadata: list[Any]) -> tuple[Any, list[Any]]:
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp, *extra = typing.get_args(tp)
            metadata = [*metadata, *extra]
        elif origin in (Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) != 1:
                # str | int | float: only Quantity uses it, through a K8s marker
                return tp, metadata
            tp = args[0]
        else:
            return tp, _flatten(metadata)


def _flatten(metadata: list[Any]) -> list[Any]:
    out: list[Any] = []
    for item in metadata:
        if isinstance(item, FieldInfo):
            out.extend(_flatten([*item.metadata]))
        else:
            out.append(item)
    return out


def _base(tp: Any, *, definitions: Definitions) -> JsonSchema:
    origin = typing.get_origin(tp)
    if origin is Literal:
        values = list(typing.get_args(tp))
        return {"type": _scalar(type(values[0])), "enum": values}
    if origin is list:
        (item,) = typing.get_args(tp)
        return {"type": "array", "items": for_annotation(item, [], definitions=definitions)}
    if origin is dict:
        _, value = typing.get_args(tp)
        if value is Any:
            return {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
        return {
            "type": "object",
            "additionalProperties": for_annotation(value, [], definitions=definitions),
        }
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return for_model(tp, definitions=definitions)
    return {"type": _scalar(tp)}


def _scalar(tp: Any) -> str:
    names = {str: "string", bool: "boolean", int: "integer", float: "number"}
    if tp not in names:
        raise TypeError(f"no CRD schema for type {tp!r}")
    return names[tp]


def _apply(schema: JsonSchema, metadata: list[Any]) -> None:
    sized = "maxItems" if schema.get("type") == "array" else "maxLength"
    if schema.get("type") == "object":
        sized = "maxProperties"
    for item in metadata:
        if isinstance(item, annotated_types.Ge):
            schema["minimum"] = item.ge
        elif isinstance(item, annotated_types.Le):
            schema["maximum"] = item.le
        elif isinstance(item, annotated_types.MinLen):
            schema[sized.replace("max", "min")] = item.min_length
        elif isinstance(item, annotated_types.MaxLen):
            schema[sized] = item.max_length
        elif isinstance(item, Cel):
            schema.setdefault("x-kubernetes-validations", []).append(_rule(item))
        elif isinstance(item, Schema):
            schema.update(dict(item.extra))
        elif isinstance(item, Nested):
            node = schema
            for step in item.path:
                node = node.get(step, {})
            node.update(dict(item.keywords))
        elif getattr(item, "pattern", None):
            schema["pattern"] = item.pattern


def _rule(cel: Cel) -> JsonSchema:
    out: JsonSchema = {"rule": cel.rule, "message": cel.message}
    if cel.field_path:
        out["fieldPath"] = cel.field_path
    return out
