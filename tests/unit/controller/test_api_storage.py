"""Which storageUris the CRD accepts, and which of those the controller reports NotSupported."""

from __future__ import annotations

import re

import pytest

from kserve_controller.api import storage


@pytest.mark.parametrize(
    "uri",
    [
        "gs://b/m",
        "s3://b/m",
        "https://h/m",
        "http://h/m",
        "file:///m",
        "pvc://claim/m",
        "hf://meta-llama/Llama-3.2-1B:main",
        "/mnt/models",
        "models/iris",
    ],
)
def test_fetched_or_mounted_uris_are_accepted_and_supported(uri: str) -> None:
    assert storage.accepted(uri)
    assert storage.unsupported_reason(uri) is None


@pytest.mark.parametrize(
    ("uri", "named"),
    [
        ("modelscope://qwen/Qwen", "modelscope://"),
        ("oci://registry/model:1", "oci://"),
        ("oci+native://registry/model:1", "oci+native://"),
        ("oci+fetch://registry/model:1", "oci+fetch://"),
        ("hdfs://nn/m", "hdfs://"),
        ("webhdfs://nn/m", "webhdfs://"),
        ("https://acct.blob.core.windows.net/c/m", "blob.core.windows.net"),
        ("https://github.com/org/model.git", "git"),
    ],
)
def test_schemes_upstream_accepts_are_accepted_but_named_not_supported(
    uri: str, named: str
) -> None:
    assert storage.accepted(uri)
    reason = storage.unsupported_reason(uri)
    assert reason is not None and named in reason


@pytest.mark.parametrize("uri", ["ftp://h/m", "model-registry://iris/1", "HF://x"])
def test_other_schemes_are_refused(uri: str) -> None:
    assert not storage.accepted(uri)


def test_the_cel_rule_is_the_python_pattern() -> None:
    # RE2 and Python agree on this pattern; no backslash: CEL would read it as an escape.
    assert storage.URI_PATTERN in storage.URI_CEL
    assert "\\" not in storage.URI_CEL
    assert all(re.match(storage.URI_PATTERN, f"{s}://x") for s in storage.ACCEPTED)
