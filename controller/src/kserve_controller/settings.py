"""ControllerSettings: read once from the environment in __main__ and passed down."""

from __future__ import annotations

import socket
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ControllerSettings(BaseSettings):
    """Environment variables `KSERVE_CONTROLLER_*`, plus POD_NAMESPACE / POD_NAME / KUBECONFIG."""

    model_config = SettingsConfigDict(
        env_prefix="KSERVE_CONTROLLER_", frozen=True, populate_by_name=True
    )

    namespace: str = Field(
        "kserve", validation_alias=AliasChoices("POD_NAMESPACE", "KSERVE_CONTROLLER_NAMESPACE")
    )
    identity: str = Field(
        default_factory=socket.gethostname,
        validation_alias=AliasChoices("POD_NAME", "KSERVE_CONTROLLER_IDENTITY"),
    )
    kubeconfig: str | None = Field(
        None, validation_alias=AliasChoices("KUBECONFIG", "KSERVE_CONTROLLER_KUBECONFIG")
    )
    # Namespaces to watch, comma-separated; empty means all namespaces.
    watch_namespaces: str = ""
    workers: int = Field(16, ge=1, le=256)
    resync_seconds: float = Field(600.0, gt=0)
    health_host: str = "0.0.0.0"
    health_port: int = 8081
    metrics_host: str = "0.0.0.0"
    metrics_port: int = 8080
    leader_elect: bool = True
    lease_name: str = "kserve-controller-manager-leader-lock"
    lease_duration_seconds: float = Field(15.0, gt=0)
    renew_deadline_seconds: float = Field(10.0, gt=0)
    retry_period_seconds: float = Field(2.0, gt=0)
    shutdown_timeout_seconds: float = Field(10.0, ge=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @property
    def namespaces(self) -> list[str]:
        return [n.strip() for n in self.watch_namespaces.split(",") if n.strip()]
