"""The model download planned into the pod template (no webhook)."""

from __future__ import annotations

from typing import Any

import pytest

from kserve_controller import config, spec
from kserve_controller.build import storage_initializer
from kserve_controller.errors import InvalidSpec, NotSupported

CFG = config.parse(None).storage_initializer


def isvc(uri: str, **predictor: Any) -> spec.Component:
    return spec.predictor(
        spec.parse(
            {
                "metadata": {"name": "m", "namespace": "ns"},
                "spec": {
                    "predictor": {
                        "model": {"modelFormat": {"name": "sklearn"}, "storageUri": uri},
                        **predictor,
                    }
                },
            }
        )
    )


def test_download_into_an_emptydir() -> None:
    plan = storage_initializer.plan(isvc("https://h/m.pkl"), config=CFG)
    (init,) = plan.init_containers
    assert init["args"] == ["https://h/m.pkl", "/mnt/models"]
    assert plan.volumes == [
        {"name": "kserve-provision-location", "emptyDir": {}},
        {"name": "storage-initializer-tmp", "emptyDir": {"sizeLimit": "64Mi"}},
    ]
    assert plan.mount == {
        "name": "kserve-provision-location",
        "mountPath": "/mnt/models",
        "readOnly": True,
    }


def test_a_hugging_face_repo_is_downloaded_by_the_initializer() -> None:
    (init,) = storage_initializer.plan(isvc("hf://Qwen/Qwen2-0.5B:v1"), config=CFG).init_containers
    assert init["args"] == ["hf://Qwen/Qwen2-0.5B:v1", "/mnt/models"]


def test_the_initializer_writes_only_the_model_and_tmp() -> None:
    (init,) = storage_initializer.plan(isvc("s3://b/m"), config=CFG).init_containers
    assert init["securityContext"]["readOnlyRootFilesystem"] is True
    assert init["securityContext"]["allowPrivilegeEscalation"] is False
    assert [(m["name"], m["mountPath"]) for m in init["volumeMounts"]] == [
        ("kserve-provision-location", "/mnt/models"),
        ("storage-initializer-tmp", "/tmp"),
    ]


def test_local_path_needs_a_download_too() -> None:
    assert storage_initializer.plan(isvc("/models/iris"), config=CFG).init_containers


@pytest.mark.parametrize(
    ("uri", "error"),
    [
        ("ftp://h/m", InvalidSpec),
        ("hdfs://n/m", NotSupported),
        ("pvc:///x", InvalidSpec),
        ("https://acct.blob.core.windows.net/c/m", NotSupported),
    ],
)
def test_unusable_uris(uri: str, error: type[Exception]) -> None:
    with pytest.raises(error, match="storageUri"):
        storage_initializer.plan(isvc(uri), config=CFG)


def test_the_users_own_initializer_is_kept() -> None:
    own = {"name": "storage-initializer", "image": "mine"}
    plan = storage_initializer.plan(isvc("s3://b/m", initContainers=[own]), config=CFG)
    assert plan.init_containers == []
    assert plan.mount is not None


def test_pvc_without_path_mounts_the_claim_root() -> None:
    plan = storage_initializer.plan(isvc("pvc://claim"), config=CFG)
    assert plan.mount == {"name": "kserve-pvc-source", "mountPath": "/mnt/models", "readOnly": True}
