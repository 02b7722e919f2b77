"""The agent's answer to its own readiness probe: the component's probe, run by the agent.

Upstream's contract, which the controller writes as upstream's injector does: the `agent`
container's readiness probe is `GET <path>` on the agent's port with `K-Network-Probe: queue`,
and the component container's readiness probe (httpGet or tcpSocket) arrives as JSON in
SERVING_READINESS_PROBE. The agent answers such a request itself: 200 when that probe passes
against 127.0.0.1, 503 when it does not. A component that only listens (a tcpSocket probe, no
route at "/") is then found ready, as under upstream's agent.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any, Literal

import aiohttp

ENV = "SERVING_READINESS_PROBE"
HEADER = "K-Network-Probe"
DEFAULT_TIMEOUT = 1.0  # seconds, the Kubernetes default of timeoutSeconds


class ProbeError(ValueError):
    """SERVING_READINESS_PROBE is not a probe this agent can run."""


@dataclass(frozen=True)
class ComponentProbe:
    """One httpGet or tcpSocket probe against the component on 127.0.0.1."""

    kind: Literal["http", "tcp"]
    port: int
    path: str = "/"
    scheme: str = "http"
    headers: tuple[tuple[str, str], ...] = ()
    timeout: float = DEFAULT_TIMEOUT


def parse(text: str, *, component_port: int) -> ComponentProbe | None:
    """The probe of SERVING_READINESS_PROBE; None when it is empty (every probe passes then, as
    upstream). A port given by name, or not at all, is the component's port."""
    if not text.strip():
        return None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as err:
        raise ProbeError(f"{ENV} is not JSON: {err}") from None
    if isinstance(raw, list):  # upstream's multi-container form: the first is the component's
        raw = raw[0] if raw else {}
    if not isinstance(raw, dict):
        raise ProbeError(f"{ENV} must be a JSON object (a Kubernetes probe)")
    timeout = float(raw.get("timeoutSeconds") or DEFAULT_TIMEOUT)
    if isinstance(raw.get("httpGet"), dict):
        action: dict[str, Any] = raw["httpGet"]
        headers = tuple(
            (str(h["name"]), str(h.get("value", "")))
            for h in action.get("httpHeaders") or []
            if isinstance(h, dict) and h.get("name")
        )
        return ComponentProbe(
            kind="http",
            port=_port(action.get("port"), component_port),
            path=str(action.get("path") or "/"),
            scheme=str(action.get("scheme") or "HTTP").lower(),
            headers=headers,
            timeout=timeout,
        )
    if isinstance(raw.get("tcpSocket"), dict):
        port = _port(raw["tcpSocket"].get("port"), component_port)
        return ComponentProbe(kind="tcp", port=port, timeout=timeout)
    raise ProbeError(f"{ENV}: only httpGet and tcpSocket probes can be run by the agent")


def _port(value: object, component_port: int) -> int:
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        return int(value)
    return component_port


async def passes(probe: ComponentProbe | None) -> bool:
    """Does the component pass its probe now? (2xx and 3xx pass an httpGet probe.)"""
    if probe is None:
        return True
    try:
        if probe.kind == "tcp":
            _, writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", probe.port), probe.timeout
            )
            writer.close()
            return True
        url = f"{probe.scheme}://127.0.0.1:{probe.port}{probe.path}"
        timeout = aiohttp.ClientTimeout(total=probe.timeout)
        # The kubelet does not verify the certificate of an HTTPS probe: neither does this.
        connector = aiohttp.TCPConnector(ssl=False)
        async with (
            aiohttp.ClientSession(timeout=timeout, connector=connector) as session,
            session.get(url, headers=dict(probe.headers), allow_redirects=False) as response,
        ):
            return 200 <= response.status < 400
    except (OSError, TimeoutError, aiohttp.ClientError):
        return False
