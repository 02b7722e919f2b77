"""The upstream `kserve` SDK's InferenceRESTClient, unchanged, in its own venv, against our server.

The SDK is never importable from our venv (our packages leave the name `kserve` free):
hack/kserve-sdk-venv.sh builds a separate venv in the cache dir and kserve_sdk_driver.py runs in it.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from kserve_server import server
from kserve_server.settings import ModelSpec, ServerSettings

REPO = Path(__file__).resolve().parents[3]
HERE = Path(__file__).resolve().parent


def sdk_python() -> str:
    proc = subprocess.run(
        ["bash", str(REPO / "hack" / "kserve-sdk-venv.sh")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, f"cannot build the kserve SDK venv:\n{proc.stderr}"
    return proc.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    out = tmp_path_factory.mktemp("models")
    subprocess.run(
        [sys.executable, str(REPO / "examples" / "train.py"), "--out", str(out)],
        check=True,
        capture_output=True,
    )
    models = [
        ModelSpec(name="sklearn-iris", model_dir=out / "sklearn-iris"),
        ModelSpec(name="intent-classifier", model_dir=out / "intent-classifier"),
    ]
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: list[server.RunningServer] = []

    async def go() -> None:
        running = await server.start(
            ServerSettings(host="127.0.0.1", http_port=0, grace_period=5), models=models
        )
        holder.append(running)
        assert running.repository.loading is not None
        await asyncio.shield(running.repository.loading)
        started.set()
        await running.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(go(),), daemon=True)
    thread.start()
    assert started.wait(120), "server did not start"
    yield f"http://127.0.0.1:{holder[0].port}"
    loop.call_soon_threadsafe(holder[0].stop)
    thread.join(30)


@pytest.fixture(scope="module")
def results(base_url: str) -> dict[str, object]:
    python = sdk_python()
    check = subprocess.run(
        [sys.executable, "-c", "import importlib.util as u; print(u.find_spec('kserve'))"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert check.stdout.strip() == "None", "the upstream SDK must not be importable from our venv"
    proc = subprocess.run(
        [python, str(HERE / "kserve_sdk_driver.py"), base_url],
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
