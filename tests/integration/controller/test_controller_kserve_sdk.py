"""The upstream `kserve` SDK's KServeClient, unchanged, in its own venv, drives an
InferenceService through our CRDs and controller on the real apiserver: create → wait Ready →
get → patch → delete, as upstream's documentation does.

The SDK fills in fields users never set (`spec.predictor.model.name: ""`): the CRD must accept
what upstream accepts there.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from controller_env import Installed, make_available, wait_for

from kserve_controller.kube.client import Kube

pytestmark = pytest.mark.integration

DRIVER = Path(__file__).resolve().parent / "kserve_sdk_isvc_driver.py"
NAME = "sdk-iris"


async def test_sdk_create_wait_get_patch_delete(
    installed: Installed,
    start_controller: Callable[..., Awaitable[Any]],
    admin: Kube,
    namespace: str,
    sdk_python: str,
) -> None:
    await start_controller()
    proc = await asyncio.create_subprocess_exec(
        sdk_python, str(DRIVER), str(installed.admin_kubeconfig), namespace, NAME,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    communicate = asyncio.ensure_future(proc.communicate())
    # No kubelet runs pods here: once the SDK's object has its Deployment, report it available
    # as the deployment controller would, so the SDK's wait_isvc_ready can see Ready.
    deployment = f"{NAME}-predictor"
    await wait_for(
        lambda: communicate.done() or admin.get("Deployment", namespace, deployment),
        what="the predictor Deployment of the SDK's InferenceService",
    )
    if not communicate.done():
        await make_available(admin, namespace, deployment)
    stdout, stderr = await asyncio.wait_for(communicate, 240)
    assert proc.returncode == 0, f"the SDK driver failed:\n{stderr.decode()[-4000:]}"
    seen = json.loads(stdout.decode().strip().splitlines()[-1])
    assert "error" not in seen, seen["error"]
    assert seen["sent_model"]["name"] == "", "the SDK no longer sends name: '' (test is moot)"
    assert seen["ready"] is True
    assert seen["url"] == f"http://{NAME}-{namespace}.example.com"
    assert seen["patched_uri"].endswith("/model-2")
    assert seen["patched_generation"] == 2
    assert seen["deployment_follows_patch"] is True
    assert seen["deleted"] is True
    assert seen["get_after_delete"] is True
