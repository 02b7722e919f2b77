"""The activator's one read of the Kubernetes API: list and watch the Services it fronts.

Plain aiohttp with the pod's service account (a bearer token re-read on every request, as
projected tokens rotate, and the cluster CA). A 410 Gone or a broken watch lists again; until
the first list, requests wait (`Activator.synced`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import orjson

from kserve_server.activator.routes import SELECTOR, Table

log = logging.getLogger(__name__)

ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")
SERVICES = "/api/v1/services"


class GoneError(Exception):
    """The watch's resourceVersion is too old: list again."""


@dataclass(frozen=True)
class Access:
    url: str  # https://host:port
    token_file: Path
    ca_file: Path

    @classmethod
    def in_cluster(cls) -> Access:
        host = os.environ["KUBERNETES_SERVICE_HOST"]
        port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
        if ":" in host:
            host = f"[{host}]"
        return cls(f"https://{host}:{port}", ACCOUNT / "token", ACCOUNT / "ca.crt")

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token_file.read_text().strip()}"}


class Services:
    """List + watch of the labelled Services of every namespace."""

    def __init__(self, access: Access, session: aiohttp.ClientSession) -> None:
        self.access = access
        self.session = session
        self._ssl = access.ssl_context()

    async def list(self) -> tuple[list[dict[str, Any]], str]:
        query = urlencode({"labelSelector": SELECTOR})
        async with self.session.get(
            f"{self.access.url}{SERVICES}?{query}", headers=self.access.headers(), ssl=self._ssl
        ) as resp:
            body = await resp.read()
            if resp.status != 200:
                raise aiohttp.ClientResponseError(
                    resp.request_info, (), status=resp.status, message=body[:300].decode()
                )
        parsed = orjson.loads(body)
        return list(parsed.get("items") or []), str(parsed["metadata"]["resourceVersion"])

    async def watch(self, version: str) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        query = urlencode(
            {
                "labelSelector": SELECTOR,
                "watch": "1",
                "resourceVersion": version,
                "allowWatchBookmarks": "true",
                "timeoutSeconds": "300",
            }
        )
        async with self.session.get(
            f"{self.access.url}{SERVICES}?{query}",
            headers=self.access.headers(),
            ssl=self._ssl,
            timeout=aiohttp.ClientTimeout(total=None, sock_read=330),
        ) as resp:
            if resp.status == 410:
                raise GoneError()
            if resp.status != 200:
                raise aiohttp.ClientResponseError(resp.request_info, (), status=resp.status)
            async for line in resp.content:
                if not line.strip():
                    continue
                event = orjson.loads(line)
                kind, obj = str(event.get("type")), event.get("object") or {}
                if kind == "ERROR":
                    if obj.get("code") == 410:
                        raise GoneError()
                    raise aiohttp.ClientPayloadError(f"watch error: {obj.get('message')}")
                yield kind, obj


async def follow(
    services: Services, table: Table, synced: asyncio.Event, *, retry: float = 1.0
) -> None:
    """Keep `table` equal to the labelled Services until cancelled; set `synced` once listed."""
    while True:
        try:
            items, version = await services.list()
            table.replace(items)
            synced.set()
            log.info("activator routes: %d component(s) listed", len(table))
            while True:
                async for kind, obj in services.watch(version):
                    version = str((obj.get("metadata") or {}).get("resourceVersion") or version)
                    if kind in ("ADDED", "MODIFIED"):
                        table.put(obj)
                    elif kind == "DELETED":
                        table.remove(obj)
        except GoneError:
            log.info("activator routes: watch expired, listing again")
        except (aiohttp.ClientError, TimeoutError, OSError, ValueError, KeyError) as exc:
            log.warning("activator routes: %s; again in %.0fs", exc, retry)
            await asyncio.sleep(retry)
