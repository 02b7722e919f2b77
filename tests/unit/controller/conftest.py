"""Test data for the controller's pure layers: cases under tests/data/controller."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

DATA = Path(__file__).resolve().parents[2] / "data" / "controller"


def load_yaml(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


class Case:
    """One case file: the InferenceService, then optional ConfigMap and ServingRuntimes."""

    def __init__(self, path: Path) -> None:
        docs = load_yaml(path)
        self.name = path.stem
        self.isvc: dict[str, Any] = docs[0]
        self.isvc["metadata"].setdefault("uid", "00000000-0000-0000-0000-000000000001")
        self.isvc["metadata"].setdefault("generation", 1)
        self.configmap_data: dict[str, str] = next(
            (d["data"] for d in docs if d["kind"] == "ConfigMap"), {}
        )
        self.serving_runtimes = [d for d in docs if d["kind"] == "ServingRuntime"]


def case_names() -> list[str]:
    return sorted(p.stem for p in (DATA / "cases").glob("*.yaml"))


@pytest.fixture
def cluster_runtimes() -> list[dict[str, Any]]:
    return load_yaml(DATA / "clusterservingruntimes.yaml")


@pytest.fixture
def load_case() -> Any:
    return lambda name: Case(DATA / "cases" / f"{name}.yaml")
