"""Payload logger and request batcher settings: what upstream's agent flags say, typed.

Shared by the model server (in process) and the agent proxy; `payload.flags` builds them from
the command line the controller writes (the flag names and formats of upstream's agent).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

# upstream's agent: the embedded marshaller's address is the default --log-marshaller-url
DEFAULT_MARSHALLER_URL = "http://localhost:9083/marshal"
# upstream mounts the logger's CA bundle here; --logger-ca-cert-file names a file in it
CA_CERT_DIR = "/etc/tls/logger"
STORAGE_SCHEMES = ("s3", "gs")


class LogMode(StrEnum):
    ALL = "all"
    REQUEST = "request"
    RESPONSE = "response"


class LoggerSettings(BaseModel):
    """Where request/response events go and what they carry (upstream's --log-* flags)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str = Field(min_length=1, description="http(s):// sink, or s3:// / gs:// bucket")
    mode: LogMode = LogMode.ALL
    source_uri: str = Field(default="", description="ce-source; empty: http://localhost:<port>/")
    inference_service: str = ""
    namespace: str = ""
    endpoint: str = ""
    component: str = ""
    metadata_headers: tuple[str, ...] = ()
    metadata_annotations: dict[str, str] = Field(default_factory=dict)
    # blob storage (url s3:// or gs://): object path under the bucket's prefix, and format
    store_path: str = ""
    store_format: Literal["json", "csv"] = "json"
    marshaller_url: str = DEFAULT_MARSHALLER_URL
    batch_size: int = Field(default=1, ge=1, description="records per stored object")
    batch_interval: float = Field(default=0.0, ge=0, description="seconds; 0: flush on size")
    ca_cert_file: str = "service-ca.crt"
    tls_skip_verify: bool = False
    workers: int = Field(default=5, ge=1, le=256, description="concurrent posts to the sink")
    # ours: bounds that keep a slow or dead sink away from inference
    queue_size: int = Field(default=10_000, ge=1, description="events waiting; more are dropped")
    retries: int = Field(default=3, ge=0, le=20, description="attempts after the first post")
    retry_delay: float = Field(default=0.2, ge=0, description="first backoff, doubled each time")
    post_timeout: float = Field(default=10.0, gt=0, description="seconds for one post")
    drain_timeout: float = Field(default=5.0, ge=0, description="SIGTERM: seconds to flush")

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, url: str) -> str:
        scheme = url.split("://", 1)[0].lower() if "://" in url else ""
        if scheme not in ("http", "https", *STORAGE_SCHEMES):
            raise ValueError(
                f"log url {url!r}: expected http://, https://, s3:// or gs:// (abfs:// is not "
                "supported here)"
            )
        return url

    @property
    def to_storage(self) -> bool:
        """Records go to a bucket (upstream: any non-http log url), not to an event sink."""
        return self.url.split("://", 1)[0].lower() in STORAGE_SCHEMES

    def logs_request(self) -> bool:
        return self.mode in (LogMode.ALL, LogMode.REQUEST)

    def logs_response(self) -> bool:
        return self.mode in (LogMode.ALL, LogMode.RESPONSE)


class BatcherSettings(BaseModel):
    """Upstream's --max-batchsize and --max-latency (milliseconds), with its defaults."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_batch_size: int = Field(default=32, gt=0)
    max_latency_ms: int = Field(default=5000, gt=0)

    @property
    def max_latency(self) -> float:
        return self.max_latency_ms / 1000.0
