"""The grpc.aio server, in the REST server's process and event loop, sharing its DataPlane.

Started and drained through the aiohttp app's cleanup_ctx (registered after the repository's,
so on the way out gRPC drains before models unload); `begin_stop` lets the shutdown start
draining gRPC at the moment REST stops accepting.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import grpc

from kserve_server.dataplane import DataPlane
from kserve_server.grpc import servicer, tf_serving
from kserve_server.settings import ServerSettings

log = logging.getLogger(__name__)


class GrpcServer:
    def __init__(
        self,
        dataplane: DataPlane,
        *,
        settings: ServerSettings,
        metrics: servicer.RequestMetrics | None = None,
    ) -> None:
        if settings.grpc_port is None:
            raise ValueError("GrpcServer needs settings.grpc_port")
        self.dataplane = dataplane
        self.metrics = metrics
        self.settings = settings
        self.port: int | None = None  # bound port, once started
        self._server: grpc.aio.Server | None = None
        self._stopping: asyncio.Task[None] | None = None

    def address(self) -> str:
        host = self.settings.host
        host = f"[{host}]" if ":" in host and not host.startswith("[") else host
        return f"{host}:{self.settings.grpc_port}"

    async def start(self) -> int:
        s = self.settings
        server = grpc.aio.server(
            options=[
                ("grpc.max_send_message_length", s.grpc_max_send_message_length),
                ("grpc.max_receive_message_length", s.grpc_max_receive_message_length),
                # grpc sets SO_REUSEPORT by default: a second server would silently share the
                # port. Only --workers (reuse_port) shares it on purpose, as REST does.
                ("grpc.so_reuseport", 1 if s.reuse_port else 0),
            ]
        )
        server.add_generic_rpc_handlers(
            (
                servicer.handler(self.dataplane, metrics=self.metrics),
                tf_serving.handler(self.dataplane),  # grpc-v1: TF Serving's clients
            )
        )
        try:
            port = server.add_insecure_port(self.address())
        except RuntimeError as exc:
            raise OSError(f"gRPC: cannot listen on {self.address()}: {exc}") from None
        if port == 0:
            raise OSError(f"gRPC: cannot listen on {self.address()}")
        await server.start()
        self._server, self.port = server, port
        log.info("gRPC serving on %s:%s", s.host, port)
        return port

    def begin_stop(self) -> None:
        """Stop accepting RPCs now; in-flight ones get up to grace_period (idempotent)."""
        if self._server is not None and self._stopping is None:
            self._stopping = asyncio.create_task(self._server.stop(self.settings.grace_period))

    async def stop(self) -> None:
        self.begin_stop()
        if self._stopping is not None:
            await self._stopping

    async def lifespan(self, _app: object) -> AsyncIterator[None]:
        """aiohttp cleanup_ctx: listen before REST does; drain before models unload."""
        await self.start()
        try:
            yield
        finally:
            await self.stop()
