"""Protocol-neutral operations shared by V1 and V2 REST: health, metadata, inference, repository.

This module alone decides where model code runs: small requests inline on the event loop (a
thread hop costs more than a small sklearn predict), large ones in a worker thread so health
checks and other requests keep flowing.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

from kserve_server import __version__, ids
from kserve_server.errors import InferenceError, ServerError, ServerNotReady
from kserve_server.inference import InferRequest, InferResponse, ModelMetadata, Request, Response
from kserve_server.repository import ModelRepository
from kserve_server.runtimes.base import Model

log = logging.getLogger(__name__)
trace = logging.getLogger("kserve_server.trace")

Timings = list[tuple[str, float]]  # (stage, seconds) of one request, in order
Observer = Callable[[str, Timings], None]  # (model name, its stage timings), on the loop's thread
# Small requests run inline: the thread hop (tens of µs) is a large share of a small sklearn
# predict; from a few thousand elements a predict takes milliseconds and would stall the loop.
INLINE_MAX_ELEMENTS = 4096


def _ignore(_model: str, _timings: Timings) -> None:
    return None


class DataPlane:
    def __init__(
        self,
        repository: ModelRepository,
        *,
        observe: Observer = _ignore,
        latency_logging: bool = False,
    ) -> None:
        self.repository = repository
        self.observe = observe
        self.latency_logging = latency_logging

    # health and metadata
    def live(self) -> bool:
        return True

    def ready(self) -> None:
        """Raises ServerNotReady naming the models not loaded yet (and why, if they failed)."""
        waiting = self.repository.not_ready()
        if waiting:
            failures = self.repository.failures()
            detail = ", ".join(f"{n} ({failures[n]})" if n in failures else n for n in waiting)
            raise ServerNotReady(f"Server is not ready: model(s) not loaded: {detail}")

    def server_metadata(self) -> dict[str, Any]:
        return {
            "name": "kserve-py",
            "version": __version__,
            "extensions": ["model_repository_extension", "binary_tensor_data"],
        }

    def models(self) -> list[str]:
        return self.repository.names()

    def check_model(self, name: str) -> None:
        """Raises ModelNotFound (404) or ModelNotReady with the reason (503)."""
        self.repository.ready_model(name)

    def v1_model_status(self, name: str) -> dict[str, Any]:
        """V1 model status: KServe's `{"name", "ready"}`, or the runtime's own (TF Serving's)."""
        status = self.repository.ready_model(name).v1_status()
        return status if status is not None else {"name": name, "ready": True}

    def model_metadata(self, name: str) -> ModelMetadata:
        return self.repository.ready_model(name).metadata()

    # inference
    async def infer(self, name: str, request: Request) -> Response:
        model = self.repository.ready_model(name)
        started = time.perf_counter() if self.latency_logging else 0.0
        timings: Timings = []
        stages = (
            ("preprocess", model.preprocess),
            ("predict", model.predict),
            ("postprocess", model.postprocess),
        )
        try:
            response: Response
            if _elements(request) <= INLINE_MAX_ELEMENTS:
                response = _run_stages(model, stages, request, timings)
            else:
                response = await asyncio.to_thread(_run_stages, model, stages, request, timings)
        finally:
            # here, on the event loop's thread, whichever thread ran the stages: the metrics
            # take no locks; a copy, as a cancelled request's thread may still be appending
            self.observe(model.name, timings[:])
        if isinstance(response, InferResponse) and isinstance(request, InferRequest):
            response.model_name = response.model_name or name
            response.id = response.id or request.id or ids.new_id()
        if self.latency_logging:
            trace.info("model %s: infer in %.3f ms", name, (time.perf_counter() - started) * 1e3)
        return response

    async def explain(self, name: str, request: Request) -> Response:
        model = self.repository.ready_model(name)
        timings: Timings = []
        try:
            response: Response = await asyncio.to_thread(
                _run_stages, model, (("explain", model.explain),), request, timings
            )
            return response
        finally:
            self.observe(model.name, timings[:])

    # model repository extension
    def index(self, *, ready_only: bool = False) -> list[dict[str, str]]:
        entries = self.repository.index()
        return [e for e in entries if e["state"] == "READY"] if ready_only else entries

    async def load(self, name: str) -> None:
        await self.repository.load(name)

    async def unload(self, name: str) -> None:
        await self.repository.unload(name)


def _run_stages(
    model: Model, stages: Sequence[tuple[str, Callable[[Any], Any]]], value: Any, timings: Timings
) -> Any:
    """Each hook on the previous one's result, timed (a failed stage too); a hook's unexpected
    exception becomes an InferenceError (500) naming it."""
    started = time.perf_counter()
    for stage, hook in stages:
        try:
            value = hook(value)
        except (ServerError, NotImplementedError):
            raise
        except Exception as exc:
            log.exception("model %s: %s raised", model.name, stage)
            raise InferenceError(f"{type(exc).__name__} : {exc}") from exc
        finally:
            ended = time.perf_counter()  # the next stage's start
            timings.append((stage, ended - started))
            started = ended
    return value


def _elements(request: Request) -> int:
    if isinstance(request, InferRequest):
        count = 0
        for tensor in request.inputs:
            count += math.prod(tensor.shape)
        return count
    first = request.instances[0] if request.instances else None
    width = len(first) if isinstance(first, list | dict) else 1
    return len(request.instances) * width
