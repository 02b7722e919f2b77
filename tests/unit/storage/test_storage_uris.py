"""URI parsing and redaction: messages name the URI, never a credential in it."""

from __future__ import annotations

import pytest

from kserve_server.storage import http, local, uris
from kserve_server.storage.errors import StorageError


@pytest.mark.parametrize(
    ("uri", "shown"),
    [
        ("https://u:pw@host/m.pkl", "https://host/m.pkl"),
        (
            "https://h/m.pkl?X-Amz-Signature=abc&X-Amz-Date=1",
            "https://h/m.pkl?X-Amz-Signature=***&X-Amz-Date=1",
        ),
        ("https://h/m.pkl?sig=abc&sv=2020", "https://h/m.pkl?sig=***&sv=2020"),
        ("gs://bucket/models/iris", "gs://bucket/models/iris"),
    ],
)
def test_redact(uri: str, shown: str) -> None:
    assert uris.redact(uri) == shown


@pytest.mark.parametrize(
    ("uri", "scheme"),
    [("gs://b/k", "gs"), ("S3://b", "s3"), ("/mnt/pvc/m", ""), ("./model", ""), ("hf://o/m", "hf")],
)
def test_scheme_of(uri: str, scheme: str) -> None:
    assert uris.scheme_of(uri) == scheme


def test_bucket_path() -> None:
    assert uris.bucket_path("gs://kfserving-examples/models/sklearn/1.0/model/") == uris.BucketPath(
        bucket="kfserving-examples", key="models/sklearn/1.0/model"
    )
    assert uris.bucket_path("s3://bucket") == uris.BucketPath(bucket="bucket", key="")


@pytest.mark.parametrize(
    ("uri", "name"),
    [
        ("https://github.com/o/r/releases/download/v1.0/intent_model.pkl", "intent_model.pkl"),
        ("https://h/model.joblib?token=x", "model.joblib"),
        ("https://h/download?path=/2021/model.zip", "model.zip"),
        ("https://h/a%20b.pkl", "a b.pkl"),
    ],
)
def test_http_file_name(uri: str, name: str) -> None:
    assert http.file_name(uri) == name


def test_http_file_name_missing() -> None:
    with pytest.raises(StorageError, match="no file name"):
        http.file_name("https://foo.bar/test/")


def test_file_uris_map_to_paths() -> None:
    assert str(local.source_path("file:///srv/models/iris")) == "/srv/models/iris"
    assert str(local.source_path("file://relative/dir")) == "relative/dir"
    assert str(local.source_path("/srv/m")) == "/srv/m"
