"""Fixtures shared by every suite: our model server on a background thread, for blocking clients
(curl, tritonclient, TF Serving's and the upstream SDK's clients, schemathesis)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # the server is imported when one starts: not every suite's venv needs it
    from kserve_server.runtimes.base import Model
    from kserve_server.server import RunningServer
    from kserve_server.settings import ModelSpec


class ServerThread:
    """`server.start()` on its own event loop in a daemon thread; entering waits until the models
    are loaded (or failed to load) and gives the RunningServer (`port`, `grpc_port`); leaving
    stops it as SIGTERM would (drain, unload). Settings: loopback, free ports, `overrides`."""

    def __init__(
        self,
        models: Sequence[ModelSpec | Model],
        *,
        models_root: Path | None = None,
        start_timeout: float = 120.0,
        **overrides: Any,
    ) -> None:
        self.models = models
        self.models_root = models_root
        self.start_timeout = start_timeout
        self.overrides = {"host": "127.0.0.1", "http_port": 0, "grace_period": 5, **overrides}
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._main, daemon=True)
        self.running: RunningServer | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None

    def __enter__(self) -> RunningServer:
        self.thread.start()
        if not self._started.wait(self.start_timeout):
            raise AssertionError(f"the model server did not start within {self.start_timeout} s")
        if self._error is not None:
            raise self._error
        assert self.running is not None
        return self.running

    def __exit__(self, *_: object) -> None:
        if self.running is not None:
            self.loop.call_soon_threadsafe(self.running.stop)
        self.thread.join(30)
        assert not self.thread.is_alive(), "the model server did not stop within 30 s"
        self.loop.close()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._serve())
        except BaseException as exc:  # start() failed (a port taken, bad settings): tell __enter__
            self._error = exc
            self._started.set()

    async def _serve(self) -> None:
        from kserve_server import server
        from kserve_server.settings import ServerSettings

        settings = ServerSettings(**self.overrides)
        self.running = await server.start(
            settings, models=self.models, models_root=self.models_root
        )
        if self.running.repository.loading is not None:
            await asyncio.shield(self.running.repository.loading)
        self._started.set()
        await self.running.wait()


@pytest.fixture(scope="session")
def server_thread() -> type[ServerThread]:
    """`with server_thread(models, grpc_port=0) as running:` serves `models` until the block
    ends; `f"127.0.0.1:{running.port}"` reaches it."""
    return ServerThread
