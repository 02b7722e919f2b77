"""The tutorial's set-up steps the session fixtures run, and what they hand to the tests."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from e2e_kube import Cli, condition, diagnose, rel, wait_for
from e2e_timeline import TIMELINE

FIXTURES = Path(__file__).resolve().parent / "fixtures"
# apply -> Ready, measured on this 2-core machine and then doubled or more (cold image pulls)
READY_WITHIN = 300.0
# The namespaces the tutorial's and the graph's pods run in, and kserve's, enforce Pod Security
# "restricted": every pod we create there is admitted under it, or the step fails.
RESTRICTED = "pod-security.kubernetes.io/enforce=restricted"


@dataclass
class Install:
    crd_output: str
    kserve_output: str
    installed: bool = True


@dataclass
class Applied:
    """An InferenceService applied from a file and waited on until Ready."""

    name: str
    namespace: str
    applied_at: float  # time.monotonic() of `kubectl apply`
    ready: dict[str, Any] = field(default_factory=dict)


def restricted_namespace(cli: Cli, namespace: str) -> None:
    """`kubectl create namespace NS` (unless it exists), labelled to enforce "restricted"."""
    if not cli.kubectl("get", "namespace", namespace, "--ignore-not-found").strip():
        cli.kubectl("create", "namespace", namespace)
    cli.kubectl("label", "namespace", namespace, RESTRICTED, "--overwrite")


def apply_and_wait(cli: Cli, path: Path, *, name: str, namespace: str, what: str) -> Applied:
    """`kubectl apply -f PATH` into a "restricted" namespace, then `kubectl get
    inferenceservice` until READY True with a URL."""
    restricted_namespace(cli, namespace)
    applied = Applied(name=name, namespace=namespace, applied_at=time.monotonic())
    cli.kubectl("apply", "-f", rel(path))

    def ready() -> dict[str, Any] | None:
        isvc = cli.json("get", "inferenceservice", name, "-n", namespace)
        ok = condition(isvc, "Ready").get("status") == "True" and isvc["status"].get("url")
        return dict(isvc) if ok else None

    try:
        applied.ready = wait_for(f"{namespace}/{name} Ready", ready, timeout=READY_WITHIN, every=2)
    except AssertionError as err:
        raise AssertionError(f"{err}\n{diagnose(cli, namespace)}") from err
    TIMELINE.add(f"{what}: kubectl apply -> READY True", time.monotonic() - applied.applied_at)
    return applied


def applied_on(
    cli: Cli,
    api: tuple[str, str, str],
    *,
    path: Path,
    name: str,
    namespace: str,
    what: str,
) -> Iterator[Applied]:
    """For a module fixture: fails unless the cluster serves `api` (the APIService's name,
    what it is, what to do without it), then `apply_and_wait`s the fixture at `path`, yields
    it, and deletes the InferenceService and its namespace."""
    service, serves, remedy = api
    services = cli.json("get", "apiservices")["items"]
    found = next((a for a in services if a["metadata"]["name"] == service), {})
    if condition(found, "Available").get("status") != "True":
        pytest.fail(
            f"the cluster serves no {serves} (APIService {service} not Available): {remedy}"
        )
    yield apply_and_wait(cli, path, name=name, namespace=namespace, what=what)
    cli.kubectl(
        "delete", "inferenceservice", name, "-n", namespace, "--ignore-not-found", check=False
    )
    cli.kubectl("delete", "namespace", namespace, "--ignore-not-found", "--wait=false", check=False)


@contextlib.contextmanager
def load_pod(cli: Cli, path: Path, *, namespace: str) -> Iterator[float]:
    """The pod `load` of the fixture at `path` applied in `namespace`, for the `with` block
    (which gets when it was applied, time.monotonic()); a failed wait in the block gets the
    namespace's diagnosis; at the end the pod's output is printed and the pod deleted."""
    applied_at = time.monotonic()
    cli.kubectl("apply", "-f", rel(path))
    try:
        yield applied_at
    except AssertionError as err:
        raise AssertionError(f"{err}\n{diagnose(cli, namespace)}") from err
    finally:
        logs = cli.kubectl("logs", "load", "-n", namespace, check=False, echo=False).strip()
        print("load pod:", logs or "(still running)")
        cli.kubectl("delete", "pod", "load", "-n", namespace, "--ignore-not-found", "--wait=false")
