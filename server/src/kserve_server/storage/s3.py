"""s3:// with boto3, the official SDK: its credential chain (env, profile, IRSA web identity,
instance metadata) is what users of S3 and MinIO already configure. Blocking; run in a thread.

`s3://bucket/path` is a prefix when keys exist under `path/`, else the key `path` itself.
Anonymous (unsigned) requests when awsAnonymousCredential=true or no credentials are found.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import boto3
import botocore.exceptions
from boto3.s3.transfer import TransferConfig
from botocore import UNSIGNED
from botocore.config import Config

from kserve_server.storage import trust, uris
from kserve_server.storage.errors import (
    AccessDeniedError,
    NotFoundError,
    StorageError,
    UnsafePathError,
)
from kserve_server.storage.progress import Progress
from kserve_server.storage.settings import StorageSettings

MIB = 1 << 20
# Objects above this are fetched as parallel ranged GETs (max_concurrency of them).
MULTIPART_THRESHOLD = 64 * MIB


@dataclass(frozen=True)
class Key:
    name: str
    size: int
    relative: str


def endpoint_url(settings: StorageSettings) -> str | None:
    """AWS_ENDPOINT_URL, else S3_ENDPOINT: https unless S3_USE_HTTPS=0 (as upstream's webhook)."""
    if settings.aws_endpoint_url:
        return settings.aws_endpoint_url
    if settings.s3_endpoint:
        if "://" in settings.s3_endpoint:
            return settings.s3_endpoint
        scheme = "https" if settings.s3_use_https else "http"
        return f"{scheme}://{settings.s3_endpoint}"
    return None


def client(settings: StorageSettings) -> Any:
    endpoint = endpoint_url(settings)
    style = "virtual" if settings.s3_virtual_bucket else ("path" if endpoint else "auto")
    config = Config(
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        retries={"max_attempts": settings.retries, "mode": "standard"},
        s3={"addressing_style": style},
        max_pool_connections=settings.s3_max_file_concurrency * 10,
    )
    keys: dict[str, str] = {}
    if settings.aws_access_key_id is not None and settings.aws_secret_access_key is not None:
        keys = {
            "aws_access_key_id": settings.aws_access_key_id.get_secret_value(),
            "aws_secret_access_key": settings.aws_secret_access_key.get_secret_value(),
        }
    session = boto3.session.Session(region_name=settings.aws_region or "us-east-1", **keys)
    if settings.aws_anonymous or session.get_credentials() is None:
        config = config.merge(Config(signature_version=UNSIGNED))
    verify: bool | str = settings.s3_verify_ssl
    if verify and settings.aws_ca_bundle is not None:  # boto3's own: replaces the system store
        if not settings.aws_ca_bundle.is_file():
            raise StorageError(f"CA bundle {settings.aws_ca_bundle} (AWS_CA_BUNDLE) not found")
        verify = str(settings.aws_ca_bundle)
    elif verify and settings.ca_bundle is not None:  # the cluster-wide bundle: added to it
        verify = str(trust.combined_file(settings.ca_bundle))
    return session.client("s3", endpoint_url=endpoint, verify=verify, config=config)


def download(uri: str, into: Path, *, settings: StorageSettings, progress: Progress) -> None:
    where = uris.bucket_path(uri)
    s3 = client(settings)
    try:
        keys = _list(s3, where, uri=uri)
        progress.expect(sum(k.size for k in keys))
        transfer = TransferConfig(
            multipart_threshold=MULTIPART_THRESHOLD,
            multipart_chunksize=16 * MIB,
            max_concurrency=settings.max_concurrency,
        )

        def one(key: Key) -> None:
            target = into / key.relative
            target.parent.mkdir(parents=True, exist_ok=True)
            s3.download_file(
                where.bucket, key.name, str(target), Config=transfer, Callback=progress.add
            )

        with ThreadPoolExecutor(settings.s3_max_file_concurrency) as pool:
            for done in [pool.submit(one, k) for k in keys]:
                done.result()
    except botocore.exceptions.ClientError as err:
        raise _client_error(err, where=where) from err
    except botocore.exceptions.EndpointConnectionError as err:
        where = err.kwargs.get("endpoint_url")
        raise StorageError(f"cannot connect to S3 endpoint {where}") from err
    except botocore.exceptions.SSLError as err:
        raise StorageError(
            f"TLS verification failed for the S3 endpoint of {uri}; set AWS_CA_BUNDLE "
            "or S3_VERIFY_SSL=0"
        ) from err
    except botocore.exceptions.BotoCoreError as err:
        raise StorageError(f"S3 error for {uri}: {err}") from err


def _list(s3: Any, where: uris.BucketPath, *, uri: str) -> list[Key]:
    prefix = f"{where.key}/" if where.key else ""
    keys: list[Key] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=where.bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            name = item["Key"]
            if not name.endswith("/"):
                keys.append(Key(name, int(item["Size"]), _relative(name, prefix, uri)))
    if keys:
        return keys
    if not where.key:
        raise NotFoundError(f"no objects in {uri}")
    try:
        head = s3.head_object(Bucket=where.bucket, Key=where.key)
    except botocore.exceptions.ClientError as err:
        if _code(err) in ("404", "NoSuchKey", "NotFoundError"):
            raise NotFoundError(f"no object or prefix {uri}") from err
        raise
    return [Key(where.key, int(head["ContentLength"]), PurePosixPath(where.key).name)]


def _relative(name: str, prefix: str, uri: str) -> str:
    relative = PurePosixPath(name[len(prefix) :])
    if relative.is_absolute() or ".." in relative.parts:
        raise UnsafePathError(f"key {name!r} in {uri} would be written outside the destination")
    return str(relative)


def _code(err: botocore.exceptions.ClientError) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


def _client_error(err: botocore.exceptions.ClientError, *, where: uris.BucketPath) -> StorageError:
    code = _code(err)
    shown = f"s3://{where.bucket}/{where.key}".rstrip("/")
    if code == "NoSuchBucket":
        return NotFoundError(f"S3 bucket {where.bucket!r} does not exist")
    if code in ("404", "NoSuchKey", "NotFoundError"):
        return NotFoundError(f"not found: {shown}")
    if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch"):
        return AccessDeniedError(
            f"invalid AWS credentials for {shown}: check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
        )
    if code in ("403", "AccessDeniedError", "AllAccessDisabled"):
        return AccessDeniedError(f"access denied to {shown}; check credentials and bucket policy")
    return StorageError(f"S3 error for {shown}: {code or 'unknown'}")


def upload(s3: Any, bucket: str, key: str, data: bytes, *, content_type: str) -> None:
    """One object (the payload logger's store); `s3` from client(). Blocking; run in a thread."""
    where = uris.BucketPath(bucket=bucket, key=key)
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type)
    except botocore.exceptions.ClientError as err:
        raise _client_error(err, where=where) from err
    except botocore.exceptions.BotoCoreError as err:
        raise StorageError(f"S3 error for s3://{bucket}/{key}: {err}") from err
