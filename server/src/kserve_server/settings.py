"""Server settings (read once by __main__ or built by a caller of server.run) and model specs."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator

from kserve_server.hf_settings import HuggingFaceOptions
from kserve_server.payload_settings import BatcherSettings, LoggerSettings

log = logging.getLogger(__name__)

MIB = 1024 * 1024
# "triton": a Triton model repository, each model served by the runtime of its backend
Framework = Literal[
    "sklearn", "xgboost", "lightgbm", "onnx", "tensorflow", "triton", "huggingface", "pytorch"
]
EventLoop = Literal["auto", "asyncio", "uvloop"]
FRAMEWORKS: tuple[Framework, ...] = (
    "sklearn",
    "xgboost",
    "lightgbm",
    "onnx",
    "tensorflow",
    "triton",
    "huggingface",
    "pytorch",
)


class ModelSpec(BaseModel):
    """One model to serve: the URL name, a local directory holding its file, and its framework.

    The framework comes from the caller (the ServingRuntime's `--framework`), never from the file
    extension: XGBoost and LightGBM both write `model.bst`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, pattern=r"^[^/:?#\s]+$")
    model_dir: Path
    framework: Framework = "sklearn"
    predict_proba: bool = False
    nthread: int = Field(default=1, ge=1)
    huggingface: HuggingFaceOptions = HuggingFaceOptions()  # upstream's huggingfaceserver flags

    def per_directory(self, directories: list[Path]) -> list[ModelSpec]:
        """This model's settings for each directory of a repository, named by the directory (as
        upstream's and Triton's repositories name them); a name a URL cannot hold is skipped."""
        specs = []
        for directory in directories:
            fields = {**self.model_dump(), "name": directory.name, "model_dir": directory}
            try:
                specs.append(ModelSpec.model_validate(fields))
            except ValueError:
                log.warning("skipping %s: not a valid model name", directory)
        log.info("model repository %s: serving %s", self.model_dir, [s.name for s in specs])
        return specs


ENV_PREFIX = "KSERVE_SERVER_"


class ServerSettings(BaseModel):
    """Process-wide settings. A field not given is read from `KSERVE_SERVER_<FIELD>` (any case;
    `logger` and `batcher` as JSON) when set, else its default. Read here rather than through
    pydantic-settings, whose import alone costs the server's start ~0.1 s of CPU."""

    model_config = ConfigDict(extra="forbid", validate_default=True)

    host: str = "0.0.0.0"
    http_port: int = Field(default=8080, ge=0, le=65535)
    grpc_port: int | None = Field(
        default=None, ge=0, le=65535, description="gRPC (OIP) port; None: no gRPC; 0: any free port"
    )
    grpc_max_send_message_length: int = Field(default=8 * 1024 * 1024, ge=-1)  # -1: no limit
    grpc_max_receive_message_length: int = Field(default=8 * 1024 * 1024, ge=-1)
    grace_period: float = Field(default=30.0, ge=0, description="SIGTERM drain time, seconds")
    keepalive_timeout: float = Field(default=65.0, ge=0, description="> Envoy/Istio idle timeout")
    # Limits a client meets (server/README.md "Limits" lists each with the status it gets).
    max_body_bytes: int = Field(
        default=64 * MIB, ge=1024, description="413 above this many body bytes, decompressed"
    )
    body_first_byte_timeout: float = Field(
        default=30.0, gt=0, description="408 when the body's first byte takes longer, seconds"
    )
    body_read_timeout: float = Field(
        default=300.0, gt=0, description="408 when the whole body takes longer, seconds"
    )
    max_inline_decode_bytes: int = Field(
        default=1 * MIB, ge=0, description="larger bodies are decoded in a worker thread"
    )
    max_decoding_bytes: int = Field(
        default=64 * MIB, ge=1, description="large bodies decoded at once, in body bytes"
    )
    max_decoding_waiters: int = Field(
        default=32, ge=0, description="large requests queued for decoding before 503"
    )
    decoding_wait_timeout: float = Field(
        default=10.0, gt=0, description="seconds queued for decoding before 503"
    )
    access_log: bool = False
    access_log_format: str | None = None
    enable_latency_logging: bool = False
    enable_docs_url: bool = False
    # the OpenAI-compatible API's path prefix: /<prefix>/v1/chat/completions ... (upstream's name)
    openai_route_prefix: str = Field(
        default="openai",
        pattern=r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$",
        validation_alias=AliasChoices("openai_route_prefix", "KSERVE_OPENAI_ROUTE_PREFIX"),
    )
    exit_on_load_failure: bool = Field(
        default=True, description="exit 1 when a model fails to load (a crash loop shows it)"
    )
    termination_log: Path = Field(
        default=Path("/dev/termination-log"),
        description="a failed load's reason is written here when it exists (Kubernetes shows it)",
    )
    max_asyncio_workers: int | None = Field(default=None, ge=1)
    workers: int = Field(default=1, ge=1, description="processes sharing the port (SO_REUSEPORT)")
    reuse_port: bool = False
    # upstream's --event-loop: "auto" runs on uvloop when it is installed (the framework extras
    # bring it), else on asyncio's own loop
    event_loop: EventLoop = "auto"
    # upstream's `logger` / `batcher` fields, in process (server/README.md "Payload logging")
    logger: LoggerSettings | None = None
    batcher: BatcherSettings | None = None

    @model_validator(mode="before")
    @classmethod
    def _environment(cls, data: Any) -> Any:
        """Each field not given: from `KSERVE_SERVER_<FIELD>`, or from its alias names when it
        has them (as pydantic-settings reads them: no prefix), in any case."""
        if not isinstance(data, dict):
            return data
        environ = {key.lower(): value for key, value in os.environ.items()}
        found: dict[str, Any] = {}
        for name, field in cls.model_fields.items():
            alias = field.validation_alias
            if isinstance(alias, AliasChoices):
                keys = [c for c in alias.choices if isinstance(c, str)]
            else:
                keys = [alias] if isinstance(alias, str) else [name]
            if any(key in data for key in (name, *keys)):
                continue
            envs = [key if alias is not None else ENV_PREFIX + name for key in keys]
            value = next((environ[e.lower()] for e in envs if e.lower() in environ), None)
            if value is not None:
                found[keys[0]] = json.loads(value) if name in ("logger", "batcher") else value
        return {**found, **data}
