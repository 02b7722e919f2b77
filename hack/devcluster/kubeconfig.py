"""Kubeconfig files for a dev control plane: a client certificate's identity or a token."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any


def build(
    *,
    server: str,
    ca: Path,
    cert: Path | None = None,
    key: Path | None = None,
    token: str | None = None,
    embed: bool = False,
    name: str = "kserve-py",
) -> dict[str, Any]:
    """A one-context kubeconfig. `embed` inlines the PEM files (for files copied elsewhere,
    or read by a process that cannot see these paths); else it names them."""
    user: dict[str, str]
    if token:
        user = {"token": token}
    elif cert is not None and key is not None:
        user = (
            {"client-certificate-data": _b64(cert), "client-key-data": _b64(key)}
            if embed
            else {"client-certificate": str(cert), "client-key": str(key)}
        )
    else:
        raise ValueError("a kubeconfig needs a token or a client certificate and key")
    cluster = (
        {"server": server, "certificate-authority-data": _b64(ca)}
        if embed
        else {"server": server, "certificate-authority": str(ca)}
    )
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": cluster}],
        "users": [{"name": name, "user": user}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name}}],
        "current-context": name,
    }


def write(path: Path, config: dict[str, Any]) -> Path:
    """Writes `config` (JSON is YAML) readable by its owner only."""
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
        json.dump(config, out, indent=2)
    path.chmod(0o600)  # an existing file keeps its old mode through O_TRUNC
    return path


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()
