"""A storageUri upstream accepts but our initializer cannot fetch yet is accepted by the CRD,
and the InferenceService says NotSupported, naming the scheme, before any pod is made."""

from __future__ import annotations

from typing import Any

import pytest
from controller_env import cond, isvc, wait_for

from kserve_controller.kube.client import Kube

pytestmark = pytest.mark.integration


CASES = {
    "modelscope-model": ("modelscope://qwen/Qwen2-0.5B", "modelscope://"),
    "azure-model": ("https://acct.blob.core.windows.net/models/iris", "blob.core.windows.net"),
}


@pytest.mark.parametrize("name", CASES)
async def test_unfetchable_scheme_is_not_supported_on_the_status(
    start_controller: Any, admin: Kube, namespace: str, name: str
) -> None:
    uri, named = CASES[name]
    await start_controller()
    await admin.create(isvc(name, namespace, storage_uri=uri))

    async def not_supported() -> dict[str, Any] | None:
        obj = await admin.get("InferenceService", namespace, name)
        return obj if cond(obj, "Ready").get("reason") == "NotSupported" else None

    got = await wait_for(not_supported, what="Ready=False NotSupported")
    assert named in cond(got, "Ready")["message"]
    assert await admin.get("Deployment", namespace, f"{name}-predictor") is None
