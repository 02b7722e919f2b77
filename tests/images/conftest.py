"""Fixtures for the image tests: containers on our own dockerd, removed after each test."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest
from imagekit import Container, docker


@pytest.fixture
def run_detached() -> Iterator[Callable[..., Container]]:
    """Start containers with `docker run -d` (host network unless options say otherwise);
    removed after the test."""
    started: list[str] = []

    def start(img: str, *args: str, options: tuple[str, ...] = ()) -> Container:
        name = f"kserve-py-test-{len(started)}-{int(time.time() * 1000)}"
        network = () if "--network" in options else ("--network", "host")
        docker("run", "-d", "--name", name, *network, *options, img, *args)
        started.append(name)
        return Container(name)

    yield start
    for name in started:
        docker("rm", "-f", name, check=False)
