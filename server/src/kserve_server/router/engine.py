"""Runs a request through the graph from the root node, as upstream's router does.

- Sequence: steps in order. A step gets the graph's request, or with `data: $response` the
  previous step's response; `mapPredictionsToInstances` turns `{"predictions": [...]}` into
  `{"instances": [...]}`. A step with a `condition` runs only if the condition holds on the
  previous response (on the request, for the first step); otherwise the sequence stops there
  and answers 200 with that response. A failed `Hard` step stops the sequence with its
  response and status; a failed `Soft` (default) step does not.
- Switch: the first step whose condition holds on the request; none: 404.
- Ensemble: every step at once; 200 with `{step name (or index): response}`, unless a `Hard`
  step failed: then the first such step's response and status.
- Splitter: one step at random by weight (out of 100).

Calling services is the caller's business (`Call`): this module never touches the network.
"""

from __future__ import annotations

import asyncio
import functools
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from kserve_server.router import gjson
from kserve_server.router.graph import ROOT, Graph, Step, step_label


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status <= 299


class StepError(Exception):
    """The graph could not produce an answer; `status` is what the router returns."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


# Conditions were checked when the graph was loaded: compile each once.
_path = functools.lru_cache(maxsize=512)(gjson.compile)
Call = Callable[[str, bytes], Awaitable[Reply]]  # (serviceUrl, body) -> reply; raises StepError


@dataclass
class Engine:
    graph: Graph
    call: Call
    rng: random.Random = field(default_factory=random.SystemRandom)

    async def run(self, body: bytes) -> Reply:
        return await self._node(ROOT, body)

    async def _node(self, name: str, body: bytes) -> Reply:
        node = self.graph.nodes[name]
        if node.router_type == "Sequence":
            return await self._sequence(name, body)
        if node.router_type == "Ensemble":
            return await self._ensemble(name, body)
        if node.router_type == "Switch":
            index = _first_match(node.steps, body)
            if index is None:
                raise StepError(
                    f"node {name}: none of the steps' conditions matched the request", status=404
                )
        else:
            index = self._pick(node.steps)
        return await self._step(name, index, body)

    async def _step(self, node: str, index: int, body: bytes) -> Reply:
        step = self.graph.nodes[node].steps[index]
        if step.node_name:
            return await self._node(step.node_name, body)
        try:
            return await self.call(step.service_url, body)
        except StepError as err:
            raise StepError(f"{step_label(node, index, step)}: {err}", status=err.status) from err

    async def _sequence(self, name: str, body: bytes) -> Reply:
        response: Reply | None = None
        for index, step in enumerate(self.graph.nodes[name].steps):
            request = response.body if response and step.data == "$response" else body
            if step.map_predictions_to_instances:
                request = _predictions_to_instances(request)
            if step.condition:
                previous = response.body if response else body
                document = _json(previous)
                if document is gjson.MISSING:
                    raise StepError(
                        f"{step_label(name, index, step)}: condition needs JSON, "
                        "the previous response is not",
                        status=500,
                    )
                if not gjson.exists(_path(step.condition), document):
                    return Reply(200, previous)
            response = await self._step(name, index, request)
            if step.hard and not response.ok:
                return response
        assert response is not None  # graph.check: every node has steps
        return response

    async def _ensemble(self, name: str, body: bytes) -> Reply:
        steps = self.graph.nodes[name].steps
        replies = await asyncio.gather(
            *(self._step(name, i, body) for i in range(len(steps))), return_exceptions=True
        )
        merged: dict[str, Any] = {}
        for index, (step, reply) in enumerate(zip(steps, replies, strict=True)):
            if isinstance(reply, BaseException):
                raise reply
            if step.hard and not reply.ok:
                return reply
            value = _json(reply.body)
            if value is gjson.MISSING:
                label = step_label(name, index, step)
                raise StepError(f"{label}: the response is not JSON", status=502)
            merged[step.name or str(index)] = value
        return Reply(200, orjson.dumps(merged))

    def _pick(self, steps: list[Step]) -> int:
        point, end = self.rng.randrange(100), 0
        for index, step in enumerate(steps):
            end += step.weight or 0
            if point < end:
                return index
        raise StepError("no route was selected by the splitter", status=500)


def _first_match(steps: list[Step], body: bytes) -> int | None:
    document = _json(body)
    if document is gjson.MISSING:
        return None
    for index, step in enumerate(steps):
        if step.condition and gjson.exists(_path(step.condition), document):
            return index
    return None


def _json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return gjson.MISSING


def _predictions_to_instances(body: bytes) -> bytes:
    """Upstream re-encodes only these two fields: other fields are dropped."""
    document = _json(body)
    if not isinstance(document, dict):
        return body
    predictions = document.get("predictions")
    if not isinstance(predictions, list) or not predictions:
        return body
    return orjson.dumps({"instances": predictions})
