"""The command line: argument pairs and upstream's `<host>-headers` variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from kserve_server.storage import __main__ as cli
from kserve_server.storage import s3
from kserve_server.storage.errors import StorageError
from kserve_server.storage.settings import StorageSettings


def test_one_uri_goes_to_mnt_models() -> None:
    assert cli.pairs(["gs://b/m"]) == [("gs://b/m", Path("/mnt/models"))]


def test_pairs_of_uri_and_dest() -> None:
    assert cli.pairs(["gs://a", "/x", "s3://b", "/y"]) == [
        ("gs://a", Path("/x")),
        ("s3://b", Path("/y")),
    ]


@pytest.mark.parametrize("argv", [[], ["a", "b", "c"]])
def test_bad_argument_counts_print_usage(argv: list[str]) -> None:
    with pytest.raises(SystemExit, match="usage: kserve-storage-initializer"):
        cli.pairs(argv)


def test_headers_from_env() -> None:
    env = {"models.example.com-headers": '{"Authorization": "Bearer t"}', "PATH": "/bin"}
    assert cli.headers_from_env(env) == {"models.example.com": {"Authorization": "Bearer t"}}


def test_headers_that_are_not_json_are_named_without_their_value() -> None:
    with pytest.raises(StorageError, match="h-headers is not a JSON object") as caught:
        cli.headers_from_env({"h-headers": "Bearer secret"})
    assert "secret" not in str(caught.value)


@pytest.mark.parametrize(
    ("env", "url"),
    [
        ({"AWS_ENDPOINT_URL": "http://minio:9000"}, "http://minio:9000"),
        ({"S3_ENDPOINT": "minio:9000"}, "https://minio:9000"),
        ({"S3_ENDPOINT": "minio:9000", "S3_USE_HTTPS": "0"}, "http://minio:9000"),
        ({"S3_ENDPOINT": "http://minio:9000", "S3_USE_HTTPS": "1"}, "http://minio:9000"),
        ({}, None),
    ],
)
def test_s3_endpoint_from_env(
    env: dict[str, str], url: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ENDPOINT_URL", "S3_ENDPOINT", "S3_USE_HTTPS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert s3.endpoint_url(StorageSettings()) == url
