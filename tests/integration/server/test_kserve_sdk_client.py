"""The upstream `kserve` SDK's InferenceRESTClient, unchanged, in its own venv, against our server.

The SDK is never importable from our venv (our packages leave the name `kserve` free):
hack/kserve-sdk-venv.sh builds a separate venv in the cache dir (conftest.sdk_python) and
kserve_sdk_driver.py runs in it.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def results(served: Any, sdk_python: str) -> dict[str, object]:
    proc = subprocess.run(
        [sdk_python, str(HERE / "kserve_sdk_driver.py"), served.base_url],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, f"the SDK driver failed:\n{proc.stderr[-4000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_v1_health_and_tutorial_predictions(results: dict[str, object]) -> None:
    assert results["v1_live"] is True
    assert results["v1_model_ready"] is True
    assert results["v1_iris"] == {"predictions": [1]}
    assert results["v1_intent"] == {"predictions": ["greeting"]}


def test_v1_unknown_model_is_a_404_the_sdk_reports(results: dict[str, object]) -> None:
    assert results["v1_unknown"] == [404, {"error": "Model with name nope does not exist."}]


def test_v2_health(results: dict[str, object]) -> None:
    assert (results["v2_live"], results["v2_ready"], results["v2_model_ready"]) == (True,) * 3


@pytest.mark.parametrize("inp", ["json", "bin"])
@pytest.mark.parametrize("out", ["json", "bin"])
def test_v2_iris_json_and_binary(results: dict[str, object], inp: str, out: str) -> None:
    assert results[f"v2_iris_in_{inp}_out_{out}"] == {
        "id": "sdk-1",
        "data": [1, 1],
        "datatype": "INT64",
    }


def test_v2_intent_bytes(results: dict[str, object]) -> None:
    assert results["v2_intent"] == ["greeting", "cancellation"]
