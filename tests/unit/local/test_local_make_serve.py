"""README command 1 end to end: `make serve`, the tutorial's curl lines, Ctrl-C.

Runs the real Makefile target in its own process group (as a terminal would), with the port
moved off 8080 so a parallel run cannot collide; everything else is as a user types it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
BODY_IRIS = """{
    "instances": [[6.8, 2.8, 4.8, 1.4]]
  }"""


def body_text(text: str) -> str:
    return '{\n    "instances": [["' + text + '"]]\n  }'


def curl(port: int, model: str, body: str) -> object:
    """The tutorial's curl line, on `port`."""
    done = subprocess.run(
        [
            "curl", "-s", "-X", "POST",
            f"http://localhost:{port}/v1/models/{model}:predict",
            "-H", "Content-Type: application/json",
            "-d", body,
        ],
        capture_output=True, text=True, check=False, timeout=30,
    )  # fmt: skip
    return json.loads(done.stdout) if done.returncode == 0 and done.stdout else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def tools() -> None:
    for tool in ("make", "curl"):
        if shutil.which(tool) is None:
            pytest.fail(f"this test needs `{tool}` on PATH")


@pytest.mark.usefixtures("tools")
def test_make_serve_answers_the_tutorial_and_stops_on_ctrl_c() -> None:
    port = free_port()
    started = time.monotonic()
    make = subprocess.Popen(
        ["make", "--no-print-directory", "serve", f"SERVE_PORT={port}"],
        cwd=REPO,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        iris, intent, first_answer = None, None, None
        deadline = started + 600
        while time.monotonic() < deadline and make.poll() is None:
            iris = curl(port, "sklearn-iris", BODY_IRIS)
            intent = curl(port, "intent-classifier", body_text("Hi, how are you?"))
            answered = [r for r in (iris, intent) if isinstance(r, dict) and "predictions" in r]
            if answered and first_answer is None:
                first_answer = time.monotonic() - started
            if len(answered) == 2:
                break
            time.sleep(0.5)
        assert make.poll() is None, "make serve exited early"
        # The real gs://kfserving-examples model answers 1 for this row too (upstream's
        # test/e2e/predictor/test_sklearn.py); the tutorial's text says 2.
        assert iris == {"predictions": [1]}
        assert intent == {"predictions": ["greeting"]}
        assert curl(port, "intent-classifier", body_text("I want to cancel my subscription")) == {
            "predictions": ["cancellation"]
        }
        assert curl(port, "intent-classifier", body_text("Hello, how are you?")) == {
            "predictions": ["greeting"]
        }
        print(f"make serve -> first answered curl: {first_answer:.1f}s")
        print(f"make serve -> both models answering: {time.monotonic() - started:.1f}s")
    finally:
        os.killpg(make.pid, signal.SIGINT)  # Ctrl-C: the whole foreground group
        output, _ = make.communicate(timeout=60)
    assert "Traceback" not in output, output
    assert "INFO stopped" in output, output
    with socket.socket() as sock:  # the port is free again
        sock.bind(("127.0.0.1", port))
