"""ModelRepository: name → model, its state (loading, ready, failed, unloaded) and why.

Loads run in daemon threads, one model at a time, so the event loop keeps answering health checks
while a large model loads, and a SIGTERM during a long load does not wait for it to finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from kserve_server import runtimes
from kserve_server.errors import ModelNotFound, ModelNotReady
from kserve_server.runtimes.base import Model
from kserve_server.settings import ModelSpec

log = logging.getLogger(__name__)


async def in_daemon_thread(work: Callable[[], None]) -> None:
    """Run blocking `work` in a daemon thread: unlike the default executor, the interpreter
    does not wait for it at exit, so stopping mid-load is prompt."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[None] = loop.create_future()

    def settle(error: BaseException | None) -> None:
        if done.cancelled():
            return
        if error is None:
            done.set_result(None)
        else:
            done.set_exception(error)

    def post(error: BaseException | None) -> None:
        # RuntimeError: the loop closed mid-load (the server stopped), nobody waits
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, error)

    def target() -> None:
        try:
            work()
        except BaseException as exc:
            post(exc)
        else:
            post(None)

    threading.Thread(target=target, name="model-load", daemon=True).start()
    await done


class State(enum.Enum):
    LOADING = "LOADING"
    READY = "READY"
    UNAVAILABLE = "UNAVAILABLE"  # failed to load, or unloaded


@dataclass
class Entry:
    model: Model
    state: State = State.LOADING
    reason: str = ""
    serving: bool = True  # False once unloaded through the repository extension
    # Served from start-up: the server is not ready without it. A model loaded later through
    # the repository extension is not: a failed load must not take the pod out of its Service.
    gates_readiness: bool = True


class ModelRepository:
    """The served models. Specs become framework runtimes; Model instances are served as given."""

    def __init__(self, models: Sequence[ModelSpec | Model] = (), *, root: Path | None = None):
        self._entries: dict[str, Entry] = {}
        self._root = root  # `load` of an unknown name looks for root/<name>
        self._framework = "sklearn"
        self._lock = asyncio.Lock()
        self.loading: asyncio.Task[None] | None = None  # the start-up load, while it runs
        for item in models:
            self.add(item)

    def add(self, item: ModelSpec | Model, *, gates_readiness: bool = True) -> Model:
        model = runtimes.create(item) if isinstance(item, ModelSpec) else item
        if model.name in self._entries:
            raise ValueError(f"two models are named {model.name!r}")
        self._entries[model.name] = Entry(model, gates_readiness=gates_readiness)
        if isinstance(item, ModelSpec):
            self._framework = item.framework
        return model

    def names(self) -> list[str]:
        return [name for name, entry in self._entries.items() if entry.serving]

    def entry(self, name: str) -> Entry:
        entry = self._entries.get(name)
        if entry is None or not entry.serving:
            raise ModelNotFound(name)
        return entry

    def ready_model(self, name: str) -> Model:
        """The model, if serving and loaded; else ModelNotFound or ModelNotReady (the reason).
        Twice a request (before the body is read, and at inference): `entry` is inlined."""
        entry = self._entries.get(name)
        if entry is None or not entry.serving:
            raise ModelNotFound(name)
        if entry.state is not State.READY:
            raise ModelNotReady(name, entry.reason)
        return entry.model

    def is_ready(self, name: str) -> bool:
        return self.entry(name).state is State.READY

    def not_ready(self) -> list[str]:
        """Start-up models serving but not loaded: the server is ready when this is empty."""
        return [
            n
            for n, e in self._entries.items()
            if e.serving and e.gates_readiness and e.state is not State.READY
        ]

    def failures(self) -> dict[str, str]:
        """Start-up models that failed to load, and why."""
        return {
            n: e.reason
            for n, e in self._entries.items()
            if e.serving and e.gates_readiness and e.state is State.UNAVAILABLE
        }

    def index(self) -> list[dict[str, str]]:
        return [
            {"name": n, "state": e.state.value, "reason": e.reason}
            for n, e in self._entries.items()
        ]

    async def load_all(self) -> None:
        """Load every serving model that is not loaded yet; failures are recorded, not raised."""
        for name, entry in list(self._entries.items()):
            if entry.serving and entry.state is State.LOADING:
                await self._load(name, entry)

    async def load(self, name: str) -> None:
        """Repository extension: (re)load a known model, or root/<name> with the framework."""
        entry = self._entries.get(name)
        if entry is None:
            entry = self._discover(name)
        entry.serving = True
        if entry.state is not State.READY:
            entry.state = State.LOADING
            await self._load(name, entry)
        if entry.state is not State.READY:
            raise ModelNotReady(name, entry.reason)

    async def unload(self, name: str) -> None:
        entry = self.entry(name)
        async with self._lock:
            entry.serving = False
            entry.state, entry.reason = State.UNAVAILABLE, "unloaded"
            await asyncio.to_thread(entry.model.unload)
        log.info("model %s: unloaded", name)

    async def unload_all(self) -> None:
        for name, entry in self._entries.items():
            if entry.state is State.READY:
                entry.state, entry.reason = State.UNAVAILABLE, "server stopping"
                await asyncio.to_thread(entry.model.unload)
                log.info("model %s: unloaded", name)

    async def lifespan(self, _app: object) -> AsyncIterator[None]:
        """aiohttp cleanup_ctx: load in the background while serving; unload on the way out."""
        self.loading = asyncio.create_task(self.load_all(), name="load-models")
        yield
        self.loading.cancel()
        await asyncio.gather(self.loading, return_exceptions=True)
        await self.unload_all()

    def _discover(self, name: str) -> Entry:
        directory = self._root / name if self._root is not None else None
        if directory is None or "/" in name or name.startswith(".") or not directory.is_dir():
            raise ModelNotFound(name)
        spec = ModelSpec(name=name, model_dir=directory, framework=self._framework)
        model = self.add(spec, gates_readiness=False)
        return self._entries[model.name]

    async def _load(self, name: str, entry: Entry) -> None:
        async with self._lock:
            if entry.state is State.READY:
                return
            started = time.perf_counter()
            try:
                await in_daemon_thread(entry.model.load)
            except Exception as exc:
                entry.state, entry.reason = State.UNAVAILABLE, f"{type(exc).__name__}: {exc}"
                log.error("model %s: failed to load: %s", name, entry.reason)
                return
            entry.state, entry.reason = State.READY, ""
            log.info("model %s: ready in %.2fs", name, time.perf_counter() - started)


def discover(spec: ModelSpec) -> list[ModelSpec]:
    """Upstream's model-repository layout: a model_dir with no model file of its own but with
    several sub-directories holding one each serves every sub-directory under its name.
    Tensor frameworks (ONNX, Triton) read Triton's repository layout instead, PyTorch also
    TorchServe's model store."""
    if spec.framework == "pytorch":
        from kserve_server.runtimes import pytorch

        return pytorch.discover(spec)
    if spec.framework in runtimes.MODULES:
        from kserve_server.runtimes import triton

        return triton.discover(spec)
    suffixes = runtimes.runtime_class(spec.framework).suffixes
    root = spec.model_dir
    if not root.is_dir() or any(p.suffix in suffixes and p.is_file() for p in root.iterdir()):
        return [spec]
    found = [
        d
        for d in sorted(root.iterdir())
        if d.is_dir()
        and not d.name.startswith(".")
        and any(p.suffix in suffixes and p.is_file() for p in d.iterdir())
    ]
    if len(found) < 2:
        return [spec]  # one nested file: the runtime finds it under the given name (kserve#3200)
    return spec.per_directory(found)
