"""Fixtures: the controller's own apiserver (restarts and compaction stay out of other suites),
both charts installed on it, a controller started per test."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import kubeapi
import pytest
import yaml
from controller_env import REPO, Installed, Running, install, settings

from devcluster import audit
from kserve_controller.kube.client import Kube
from kserve_controller.manager import Manager


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    try:  # the controller's requests are kept for `make rbac-audit` (hack/rbacaudit)
        with kubeapi.running(audit_log=audit.INTEGRATION_LOG) as server:
            yield install(server, tmp_path_factory.mktemp("controller"))
    except kubeapi.ToolMissingError as err:
        pytest.fail(str(err), pytrace=False)


@pytest.fixture
async def start_controller(
    installed: Installed,
) -> AsyncIterator[Callable[..., Awaitable[Running]]]:
    running: list[Running] = []

    async def start(**extra: Any) -> Running:
        conf = settings(installed, **extra)
        kube = await Kube.connect(kubeconfig=conf.kubeconfig)
        manager = Manager(kube, conf)
        run = Running(manager, asyncio.create_task(manager.run()))
        running.append(run)
        return run

    yield start
    for run in running:
        if not run.task.done():
            await run.stop()


@pytest.fixture
async def admin(installed: Installed) -> AsyncIterator[Kube]:
    kube = await Kube.connect(kubeconfig=str(installed.admin_kubeconfig))
    yield kube
    await kube.close()


@pytest.fixture
async def namespace(admin: Kube) -> str:
    name = f"t-{uuid.uuid4().hex[:8]}"
    await admin.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    return name


@pytest.fixture
def tutorial_isvc() -> Iterator[dict[str, Any]]:
    path = REPO / "tests" / "data" / "controller" / "cases" / "sklearn-iris.yaml"
    yield yaml.safe_load(path.read_text())
