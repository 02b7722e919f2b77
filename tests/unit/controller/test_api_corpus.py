"""The models agree with the apiserver on the test corpora: `make serve` reads the same YAML
the cluster accepts, and refuses what the cluster refuses, naming the same field."""

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from kserve_controller.api import inferenceservice

DATA = Path(__file__).resolve().parents[2] / "data" / "isvc"
VALID = sorted((DATA / "valid").glob("*.yaml"))
INVALID = sorted((DATA / "invalid").glob("*.yaml"))


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    return data


def expected_field(path: Path) -> str:
    line = next(x for x in path.read_text().splitlines() if x.startswith("# expect:"))
    return line.split(":", 1)[1].strip()


@pytest.mark.parametrize("path", VALID, ids=[p.stem for p in VALID])
def test_valid_spec_parses_and_round_trips(path: Path) -> None:
    raw = load(path)
    assert inferenceservice.InferenceService.model_validate(raw).wire() == raw


@pytest.mark.parametrize("path", INVALID, ids=[p.stem for p in INVALID])
def test_invalid_spec_is_refused_naming_the_field(path: Path) -> None:
    with pytest.raises(ValidationError) as info:
        inferenceservice.InferenceService.model_validate(load(path))
    leaf = expected_field(path).split(".")[-1].split("[")[0]
    assert leaf in str(info.value), str(info.value)
