"""One list of storage schemes: the CRD's CEL rule and the controller (kserve_controller.api.
storage) and the storage initializer (kserve_server.storage.schemes) keep copies, because the
two packages never import each other; this test is what keeps the copies one list."""

from __future__ import annotations

import pytest

from kserve_controller.api import storage as controller
from kserve_server.storage import schemes as initializer

URIS = [
    "gs://bucket/model",
    "s3://bucket/model",
    "https://example.com/model.joblib",
    "http://example.com/model.tgz",
    "file:///models/iris",
    "pvc://claim/path",
    "/mnt/models/iris",
    "relative/path",
    "hf://meta-llama/Llama-3",
    "modelscope://qwen/Qwen",
    "oci://registry/model:1",
    "oci+native://registry/model:1",
    "oci+fetch://registry/model:1",
    "hdfs://nn/models/m",
    "webhdfs://nn/models/m",
    "https://acct.blob.core.windows.net/container/model",
    "https://acct.z1.blob.storage.azure.net/container/model",
    "https://github.com/org/model.git",
    "model-registry://iris/v1",
    "ftp://host/model",
]


def test_the_scheme_lists_are_the_same() -> None:
    assert controller.FETCHED == initializer.FETCHED
    assert controller.MOUNTED == initializer.MOUNTED
    assert controller.NOT_YET == initializer.NOT_YET
    assert controller.ACCEPTED == initializer.ACCEPTED
    assert controller.AZURE.pattern == initializer.AZURE.pattern
    assert controller.GIT.pattern == initializer.GIT.pattern


@pytest.mark.parametrize("uri", URIS)
def test_both_give_the_same_reason(uri: str) -> None:
    assert controller.unsupported_reason(uri) == initializer.unsupported_reason(uri)
