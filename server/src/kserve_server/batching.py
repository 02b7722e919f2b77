"""The data plane with upstream's request batcher in front of inference (the `batcher` field,
in process): concurrent V1 and V2 requests for one model share a model call.

Requests that cannot share one (see payload/joins.py) run alone, at once. A V1 request with an
empty `instances` list is refused (400), as upstream's batcher refuses it.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from kserve_server import ids
from kserve_server.dataplane import DataPlane
from kserve_server.errors import InvalidInput
from kserve_server.inference import (
    InferRequest,
    InferResponse,
    PredictRequest,
    PredictResponse,
    Request,
    Response,
)
from kserve_server.payload.batcher import Batcher
from kserve_server.payload.joins import V1Join, V2Join
from kserve_server.payload_settings import BatcherSettings
from kserve_server.repository import ModelRepository


class BatchingDataPlane(DataPlane):
    def __init__(
        self, repository: ModelRepository, *, batcher: BatcherSettings, **options: Any
    ) -> None:
        super().__init__(repository, **options)
        self.v1: Batcher[PredictRequest, PredictResponse] = Batcher(
            batcher, join=V1Join(), call=self._call_v1
        )
        self.v2: Batcher[InferRequest, InferResponse] = Batcher(
            batcher, join=V2Join(), call=self._call_v2
        )

    async def infer(self, name: str, request: Request) -> Response:
        if isinstance(request, PredictRequest):
            if not request.instances and request.columnar is None:
                raise InvalidInput("no instances in the request")
            if V1Join.batchable(request):
                self.check_model(name)
                answer, batch_id = await self.v1.submit(name, request)
                answer.batch_id = batch_id
                return answer
        elif isinstance(request, InferRequest):
            key = V2Join.key(request)
            if key is not None:
                self.check_model(name)
                result, _ = await self.v2.submit((name, key), request)
                result.model_name = result.model_name or name
                result.id = request.id or ids.new_id()
                return result
        return await super().infer(name, request)

    async def _call_v1(self, name: Hashable, request: PredictRequest) -> PredictResponse:
        response = await super().infer(str(name), request)
        if not isinstance(response, PredictResponse):
            raise TypeError(f"model {name} returned a V2 response to a V1 request")
        return response

    async def _call_v2(self, key: Hashable, request: InferRequest) -> InferResponse:
        name = key[0] if isinstance(key, tuple) else str(key)
        response = await super().infer(str(name), request)
        if not isinstance(response, InferResponse):
            raise TypeError(f"model {name} returned a V1 response to a V2 request")
        return response

    async def close(self) -> None:
        await self.v1.close()
        await self.v2.close()
