"""The tutorial's curl commands, verbatim but for the port, against a real server."""

from __future__ import annotations

import shutil
import subprocess

import pytest


def curl(*args: str) -> str:
    binary = shutil.which("curl")
    assert binary, "this test needs curl on PATH (apt-get install curl)"
    return subprocess.run([binary, *args], capture_output=True, text=True, check=True).stdout


def test_tutorial_iris_curl(live_server: str) -> None:
    out = curl(
        "-s",
        f"http://{live_server}/v1/models/sklearn-iris:predict",
        "-H",
        "Content-Type: application/json",
        "-d",
        '{\n    "instances": [[6.8, 2.8, 4.8, 1.4]]\n  }',
    )
    assert out == '{"predictions":[1]}'


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Hi, how are you?", "greeting"),
        ("I want to cancel my subscription", "cancellation"),
        ("Hello, how are you?", "greeting"),
    ],
)
def test_tutorial_intent_curl(live_server: str, text: str, label: str) -> None:
    out = curl(
        "-s",
        "-X",
        "POST",
        f"http://{live_server}/v1/models/intent-classifier:predict",
        "-H",
        "Content-Type: application/json",
        "-d",
        '{\n    "instances": [["' + text + '"]]\n  }',
    )
    assert out == '{"predictions":["' + label + '"]}'


def test_curl_error_is_json_with_status(live_server: str) -> None:
    out = curl(
        "-s",
        "-w",
        "\n%{http_code}",
        f"http://{live_server}/v1/models/sklearn-iris:predict",
        "-d",
        "{not json",
    )
    body, status = out.rsplit("\n", 1)
    assert status == "400"
    assert body.startswith('{"error":"Unrecognized request format')
