"""Our deliverables leave the upstream SDK's import names free, so both install side by side."""

import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
UPSTREAM_IMPORT_NAMES = ["kserve", "kserve_storage", "sklearnserver", "xgbserver", "lgbserver"]


@pytest.mark.parametrize("name", UPSTREAM_IMPORT_NAMES)
def test_no_deliverable_provides_an_upstream_import_name(name: str) -> None:
    spec = importlib.util.find_spec(name)
    origin = Path(spec.origin or "").resolve() if spec else None
    assert origin is None or REPO not in origin.parents, f"{name} resolves to {origin}"


@pytest.mark.parametrize("name", ["kserve_server", "kserve_controller", "kserve_local"])
def test_deliverable_imports_from_the_repo(name: str) -> None:
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.origin is not None, f"{name} is not installed"
    assert REPO in Path(spec.origin).resolve().parents
