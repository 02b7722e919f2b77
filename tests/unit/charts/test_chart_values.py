"""values.yaml and values.schema.json of both charts describe the same keys, and every key is
documented: a mistyped --set fails at install, and a reader knows what each value does."""

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

CHARTS = Path(__file__).resolve().parents[3] / "charts"


def values(chart: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((CHARTS / chart / "values.yaml").read_text()) or {}
    return data


def schema(chart: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((CHARTS / chart / "values.schema.json").read_text())
    return data


def leaves(node: Any, prefix: str = "") -> set[str]:
    if isinstance(node, dict) and node and not prefix.endswith(("resources", "requests")):
        out: set[str] = set()
        for key, value in node.items():
            out |= leaves(value, f"{prefix}.{key}" if prefix else key)
        return out
    return {prefix}


def schema_paths(node: dict[str, Any], prefix: str = "") -> set[str]:
    props = node.get("properties")
    if not props or prefix.endswith(("resources", "requests")):
        return {prefix}
    out: set[str] = set()
    for key, value in props.items():
        if key != "global":
            out |= schema_paths(value, f"{prefix}.{key}" if prefix else key)
    return out


@pytest.mark.parametrize("chart", ["kserve", "kserve-crd"])
def test_default_values_pass_the_schema(chart: str) -> None:
    jsonschema.Draft7Validator(schema(chart)).validate(values(chart))


@pytest.mark.parametrize("chart", ["kserve", "kserve-crd"])
def test_schema_refuses_unknown_keys_everywhere(chart: str) -> None:
    def check(node: dict[str, Any], path: str) -> None:
        if node.get("type") == "object" and "properties" in node:
            assert node.get("additionalProperties") is False, path
            for key, sub in node["properties"].items():
                check(sub, f"{path}.{key}")

    check(schema(chart), "values")


def test_schema_and_values_list_the_same_keys() -> None:
    assert leaves(values("kserve")) == schema_paths(schema("kserve"))


def test_a_typo_in_a_set_value_is_refused() -> None:
    typo = values("kserve")
    typo["kserve"]["controller"]["deploymentmode"] = "RawDeployment"
    with pytest.raises(jsonschema.ValidationError, match="deploymentmode"):
        jsonschema.Draft7Validator(schema("kserve")).validate(typo)


def test_every_key_of_values_yaml_is_documented_by_a_comment() -> None:
    # A key is documented by a comment at its indent earlier in its paragraph (a group of keys
    # may share one), or by its parent's when no blank line separates them (resources:
    # requests/limits); the top-level key documents nothing below it.
    undocumented = []
    seen: dict[int, bool] = {}  # indent -> a comment at that indent in this paragraph
    parents: list[list[Any]] = []  # [indent, documented, no blank line since]
    for line in (CHARTS / "kserve" / "values.yaml").read_text().splitlines():
        indent = len(line) - len(line.lstrip())
        if not line.strip():
            seen = {}
            for parent in parents:
                parent[2] = False
        elif line.strip().startswith("#"):
            seen[indent] = True
        elif match := re.match(r"^\s*([A-Za-z0-9]+):", line):
            while parents and parents[-1][0] >= indent:
                parents.pop()
            parent = parents[-1] if parents else None
            inherited = bool(parent and parent[0] > 0 and parent[1] and parent[2])
            documented = seen.get(indent, False) or inherited
            seen = {k: v for k, v in seen.items() if k <= indent}
            parents.append([indent, documented, True])
            if not documented and indent > 0:
                undocumented.append(match.group(1))
    assert undocumented == []
