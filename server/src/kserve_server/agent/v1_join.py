"""Upstream's batcher over JSON: V1 `instances` joined, `predictions` split (the agent sees
bytes, not decoded requests)."""

from __future__ import annotations

from typing import Any

from kserve_server.payload.batcher import BatchMismatchError, Join

Instances = list[Any]
Answer = dict[str, Any]


class JsonV1Join(Join[Instances, Answer]):
    def size(self, request: Instances) -> int:
        return len(request)

    def combine(self, requests: list[Instances]) -> Instances:
        return [item for request in requests for item in request]

    def split(self, response: Answer, sizes: list[int]) -> list[Answer]:
        predictions = response.get("predictions")
        if not isinstance(predictions, list) or len(predictions) != sum(sizes):
            count = len(predictions) if isinstance(predictions, list) else "no"
            raise BatchMismatchError(f"{count} predictions for a batch of {sum(sizes)} instances")
        out, start = [], 0
        for size in sizes:
            out.append({"predictions": predictions[start : start + size]})
            start += size
        return out
