"""StorageSettings: all the initializer reads from its environment, read once in `__main__`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

from pydantic import AliasChoices, BeforeValidator, ByteSize, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from kserve_server.storage.limits import Limits


def _quantity(value: object) -> object:
    """Kubernetes' `512Gi` as well as pydantic's `512GiB`, `1.5 GB` or plain bytes."""
    if isinstance(value, str) and re.fullmatch(r"\s*[\d.]+\s*[KMGTPE]i\s*", value):
        return value.strip() + "B"
    return value


Bytes = Annotated[ByteSize, BeforeValidator(_quantity)]


class StorageSettings(BaseSettings):
    """Upstream's env names where upstream has one; ours are prefixed `STORAGE_`."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    # Where the kubelet reads a container's last words; overridden only by tests.
    termination_log: Path = Field(
        Path("/dev/termination-log"), validation_alias="STORAGE_TERMINATION_LOG"
    )
    retries: int = Field(5, ge=1, le=20, validation_alias="STORAGE_RETRIES")
    retry_base_delay: float = Field(0.5, ge=0, validation_alias="STORAGE_RETRY_BASE_DELAY")
    progress_interval: float = Field(5.0, gt=0, validation_alias="STORAGE_PROGRESS_INTERVAL")
    connect_timeout: float = Field(15.0, gt=0, validation_alias="STORAGE_CONNECT_TIMEOUT")
    read_timeout: float = Field(60.0, gt=0, validation_alias="STORAGE_READ_TIMEOUT")
    max_concurrency: int = Field(
        4, ge=1, le=64, validation_alias=AliasChoices("STORAGE_MAX_CONCURRENCY")
    )

    # Archives (see limits.py): caps that stop a decompression bomb before it fills the disk.
    unpack_max_bytes: Bytes = Field(
        ByteSize(Limits.max_bytes), gt=0, validation_alias="STORAGE_UNPACK_MAX_BYTES"
    )
    unpack_max_ratio: float = Field(
        Limits.max_ratio, ge=1, validation_alias="STORAGE_UNPACK_MAX_RATIO"
    )
    unpack_ratio_floor: Bytes = Field(
        ByteSize(Limits.ratio_floor), ge=0, validation_alias="STORAGE_UNPACK_RATIO_FLOOR"
    )
    unpack_max_members: int = Field(
        Limits.max_members, ge=1, validation_alias="STORAGE_UNPACK_MAX_MEMBERS"
    )

    # http(s): a CA bundle replacing the system store, and per-host headers (`<host>-headers`).
    ca_bundle: Path | None = Field(
        None, validation_alias=AliasChoices("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")
    )
    http_headers: dict[str, dict[str, str]] = Field(default_factory=dict)

    # gs://
    storage_emulator_host: str | None = Field(None, validation_alias="STORAGE_EMULATOR_HOST")
    google_application_credentials: Path | None = Field(
        None, validation_alias="GOOGLE_APPLICATION_CREDENTIALS"
    )
    # A storage spec's service-account key (STORAGE_CONFIG's base64_service_account), decoded.
    gcs_service_account: SecretStr | None = Field(
        None, validation_alias="STORAGE_GCS_SERVICE_ACCOUNT"
    )
    # GKE workload identity: asked for a token only after anonymous access is refused.
    gce_metadata_host: str = Field("metadata.google.internal", validation_alias="GCE_METADATA_HOST")

    # s3:// (credentials: a storage spec's keys, else boto3's own chain: env, profile, IRSA,
    # IMDS; read here too so that STORAGE_CONFIG's keys can win over the environment's)
    aws_access_key_id: SecretStr | None = Field(None, validation_alias="AWS_ACCESS_KEY_ID")
    aws_secret_access_key: SecretStr | None = Field(None, validation_alias="AWS_SECRET_ACCESS_KEY")
    aws_endpoint_url: str | None = Field(None, validation_alias="AWS_ENDPOINT_URL")
    s3_endpoint: str | None = Field(None, validation_alias="S3_ENDPOINT")
    s3_use_https: bool = Field(True, validation_alias="S3_USE_HTTPS")
    s3_verify_ssl: bool = Field(True, validation_alias="S3_VERIFY_SSL")
    aws_ca_bundle: Path | None = Field(None, validation_alias="AWS_CA_BUNDLE")
    aws_region: str | None = Field(
        None, validation_alias=AliasChoices("AWS_REGION", "AWS_DEFAULT_REGION")
    )
    aws_anonymous: bool = Field(False, validation_alias="awsAnonymousCredential")
    s3_virtual_bucket: bool = Field(False, validation_alias="S3_USER_VIRTUAL_BUCKET")
    s3_max_file_concurrency: int = Field(4, ge=1, le=64, validation_alias="S3_MAX_FILE_CONCURRENCY")

    # hf:// (huggingface_hub's own names): the Hub or a mirror, and the token the controller
    # wires from a Secret holding HF_TOKEN; upstream's file patterns (see hf_repo.py).
    hf_endpoint: str = Field("https://huggingface.co", validation_alias="HF_ENDPOINT")
    hf_token: SecretStr | None = Field(None, validation_alias="HF_TOKEN")
    allow_patterns: str | None = Field(None, validation_alias="STORAGE_ALLOW_PATTERNS")
    ignore_patterns: str | None = Field(None, validation_alias="STORAGE_IGNORE_PATTERNS")

    def unpack_limits(self) -> Limits:
        return Limits(
            max_bytes=self.unpack_max_bytes,
            max_ratio=self.unpack_max_ratio,
            ratio_floor=self.unpack_ratio_floor,
            max_members=self.unpack_max_members,
        )
