"""`--workers N`: N server processes on one port (SO_REUSEPORT), supervised by the parent.

Each worker is a spawned process that loads its own copy of the models (nothing is forked from a
parent holding threads or OpenMP state) and binds the port with SO_REUSEPORT, so the kernel
spreads connections across them. The parent restarts a worker that dies, forwards SIGTERM/SIGINT
so every worker drains, and exits 1 if a worker fails to load its models.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import time
from collections.abc import Callable, Sequence
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import FrameType

from kserve_server.runtimes.base import Model
from kserve_server.settings import ModelSpec, ServerSettings

log = logging.getLogger(__name__)
POLL_SECONDS = 0.5


Worker = Callable[[ServerSettings, Sequence[ModelSpec | Model], Path | None, int], None]


def supervise(
    settings: ServerSettings,
    *,
    worker: Worker,
    models: Sequence[ModelSpec | Model],
    models_root: Path | None = None,
) -> int:
    """Run `settings.workers` processes of `worker` until SIGTERM/SIGINT; the exit code.

    `worker(settings, models, models_root, log_level)` runs in a spawned process (so it must be
    importable: server.py passes its module-level `worker`)."""
    if settings.http_port == 0:
        raise ValueError("--workers > 1 needs a fixed --http_port (the workers share it)")
    if settings.grpc_port == 0:
        raise ValueError("--workers > 1 needs a fixed --grpc_port (the workers share it)")
    context = multiprocessing.get_context("spawn")
    one = settings.model_copy(update={"workers": 1, "reuse_port": True})
    level = logging.getLogger().getEffectiveLevel()
    stopping = False

    def start() -> BaseProcess:
        proc = context.Process(
            target=worker, args=(one, list(models), models_root, level), daemon=False
        )
        proc.start()
        return proc

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    procs = [start() for _ in range(settings.workers)]
    log.info("started %d workers: %s", len(procs), [p.pid for p in procs])
    exit_code = 0
    try:
        while not stopping:
            time.sleep(POLL_SECONDS)
            for index, proc in enumerate(procs):
                if proc.is_alive() or stopping:
                    continue
                if proc.exitcode == 1:  # a model failed to load: every worker would
                    log.error("worker %s exited 1 (model load failure); stopping", proc.pid)
                    exit_code, stopping = 1, True
                    break
                log.warning("worker %s died (exit %s); restarting", proc.pid, proc.exitcode)
                procs[index] = start()
    finally:
        for proc in procs:
            if proc.is_alive() and proc.pid is not None:
                proc.terminate()  # SIGTERM: the worker drains for its grace period
        for proc in procs:
            proc.join(settings.grace_period + 5)
            if proc.is_alive():
                proc.kill()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return exit_code
