"""The InferenceService is read once, typed: no module outside api/ reads its spec by string key.

A second, dict-based reading drifts from the models that validated the object (and generate
its CRD). Two nets catch one: a key that only an InferenceService spec has (`minReplicas`,
`storageUri` ...), whatever the dict is called; and any literal key read from a dict named
for a part of an InferenceService (`predictor.get("nodeSelector")`).
"""

from __future__ import annotations

import ast
import typing
from pathlib import Path

import pydantic

import kserve_controller
from kserve_controller.api import k8s_fields
from kserve_controller.api.inferenceservice import InferenceServiceSpec, InferenceServiceStatus
from kserve_controller.api.servingruntime import ServingRuntimeSpec

SOURCE = Path(kserve_controller.__file__).parent
# Names under which code holds an InferenceService or one of its components.
SPEC_HOLDERS = {"isvc", "predictor", "transformer", "explainer", "extras", "component", "part"}
# What those may still be read for: the object's envelope, not its spec.
ENVELOPE = {"metadata", "status", "kind", "apiVersion"}
# Words an InferenceService spec shares with the Kubernetes objects the controller reads
# (EnvVar, VolumeMount, HPA metrics, ObjectMeta) and with free-form user maps.
KUBERNETES_WORDS = {"namespace", "value", "path", "mountPath", "metrics", "target", "resource"}


def _models(root: type[pydantic.BaseModel]) -> set[type[pydantic.BaseModel]]:
    seen: set[type[pydantic.BaseModel]] = set()
    todo = [root]
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.add(model)
        for info in model.model_fields.values():
            stack: list[object] = [info.annotation]
            while stack:
                hint = stack.pop()
                if isinstance(hint, type) and issubclass(hint, pydantic.BaseModel):
                    todo.append(hint)
                stack += typing.get_args(hint)
    return seen


def _keys(root: type[pydantic.BaseModel]) -> set[str]:
    return {info.alias or name for m in _models(root) for name, info in m.model_fields.items()}


# Keys only an InferenceService spec has: not a Kubernetes container or pod field, not a
# status field, not a ServingRuntime field.
ISVC_ONLY = (
    _keys(InferenceServiceSpec)
    - k8s_fields.CONTAINER
    - k8s_fields.POD_SPEC
    - _keys(InferenceServiceStatus)
    - _keys(ServingRuntimeSpec)
    - KUBERNETES_WORDS
)


def _holder(node: ast.expr) -> str | None:
    """The name a dict expression is held under: `isvc` for `isvc`, `predictor` for
    `isvc.predictor`; None for anything else (a call's result, a subscript)."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _reads(tree: ast.AST) -> list[tuple[int, ast.expr, str]]:
    """(line, dict expression, key) for every read `d["key"]`, `d.get("key")` and
    `d.pop("key")` with a literal key (writes such as `d["key"] = v` are not reads)."""
    found: list[tuple[int, ast.expr, str]] = []
    for node in ast.walk(tree):
        key: ast.expr | None = None
        target: ast.expr | None = None
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            key, target = node.slice, node.value
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in {"get", "pop"}
            and node.args
        ):
            key, target = node.args[0], node.func.value
        if isinstance(key, ast.Constant) and isinstance(key.value, str) and target is not None:
            found.append((node.lineno, target, key.value))
    return found


def string_key_reads(source: Path) -> list[str]:
    out = []
    for path in sorted(source.rglob("*.py")):
        relative = path.relative_to(source)
        if relative.parts[0] == "api":
            continue
        for line, target, key in _reads(ast.parse(path.read_text(), str(path))):
            if key in ISVC_ONLY or (_holder(target) in SPEC_HOLDERS and key not in ENVELOPE):
                out.append(f"{relative}:{line}: [{key!r}] on {ast.unparse(target)}")
    return out


def test_no_string_key_read_of_the_inference_service_spec_outside_api() -> None:
    assert string_key_reads(SOURCE) == []


def test_the_check_sees_the_reads_it_forbids(tmp_path: Path) -> None:
    (tmp_path / "reader.py").write_text(
        "def f(isvc, predictor, spec, runtime):\n"
        "    a = predictor.get('minReplicas')\n"  # a key only an isvc has
        "    b = isvc.predictor['nodeSelector']\n"  # a pod field, read from a predictor
        "    c = spec['storageUri']\n"  # whatever the dict is called
        "    d = runtime.spec.get('containers')\n"  # a ServingRuntime's: fine
        "    e = isvc['metadata']['name']\n"  # the envelope: fine
        "    return a, b, c, d, e\n"
    )
    assert [r.split(": ", 1)[0] for r in string_key_reads(tmp_path)] == [
        "reader.py:2",
        "reader.py:3",
        "reader.py:4",
    ]


def test_isvc_only_keys_are_the_ones_users_know() -> None:
    assert {"minReplicas", "storageUri", "modelFormat", "predictor", "scaleMetric"} <= ISVC_ONLY
    assert not {"containers", "nodeSelector", "name", "url"} & ISVC_ONLY
