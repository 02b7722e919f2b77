"""GRPCInferenceService: each rpc maps its message onto the shared DataPlane, like rest/v2.py.

The whole method table is in `handler()`; errors become status codes in errors.py alone.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import grpc
from google.protobuf.message import DecodeError

from kserve_server.dataplane import DataPlane
from kserve_server.errors import InferenceError, InvalidInput, ModelNotReady, ServerNotReady
from kserve_server.grpc import errors
from kserve_server.inference import InferResponse
from kserve_server.protocol import open_inference_pb2 as pb
from kserve_server.protocol import v2_grpc

SERVICE = "inference.GRPCInferenceService"
Context = grpc.aio.ServicerContext[Any, Any]


class RequestMetrics(Protocol):
    """What ModelInfer reports (rest.metrics.Metrics, beside REST's requests)."""

    def count_request(self, model: str, protocol: str, code: str, seconds: float) -> None: ...
    def enter(self, model: str, protocol: str) -> None: ...
    def leave(self, model: str, protocol: str) -> None: ...


Rpc = Callable[[Any, Context], Awaitable[Any]]


class Servicer:
    def __init__(self, dataplane: DataPlane) -> None:
        self.dataplane = dataplane

    async def ServerLive(self, request: pb.ServerLiveRequest, context: Context) -> Any:  # noqa: N802
        return pb.ServerLiveResponse(live=self.dataplane.live())

    async def ServerReady(self, request: pb.ServerReadyRequest, context: Context) -> Any:  # noqa: N802
        try:
            self.dataplane.ready()
        except ServerNotReady:
            return pb.ServerReadyResponse(ready=False)  # a health answer, not an error
        return pb.ServerReadyResponse(ready=True)

    async def ModelReady(self, request: pb.ModelReadyRequest, context: Context) -> Any:  # noqa: N802
        try:
            self.dataplane.check_model(request.name)  # unknown: NOT_FOUND, as upstream
        except ModelNotReady:
            return pb.ModelReadyResponse(ready=False)
        return pb.ModelReadyResponse(ready=True)

    async def ServerMetadata(self, request: pb.ServerMetadataRequest, context: Context) -> Any:  # noqa: N802
        return v2_grpc.server_metadata(self.dataplane.server_metadata())

    async def ModelMetadata(self, request: pb.ModelMetadataRequest, context: Context) -> Any:  # noqa: N802
        metadata = self.dataplane.model_metadata(request.name)
        return v2_grpc.model_metadata(request.name, metadata)

    async def ModelInfer(self, request: pb.ModelInferRequest, context: Context) -> Any:  # noqa: N802
        name = request.model_name
        if not name:
            raise InvalidInput("model_name is empty")
        self.dataplane.check_model(name)  # NOT_FOUND/UNAVAILABLE before decoding tensors
        infer_request = v2_grpc.decode(request)
        response = await self.dataplane.infer(name, infer_request)
        if not isinstance(response, InferResponse):
            raise InferenceError(f"model {name} returned a V1 response to a V2 request")
        return v2_grpc.encode(response, infer_request, raw=v2_grpc.wants_raw(request))

    async def RepositoryModelLoad(  # noqa: N802
        self, request: pb.RepositoryModelLoadRequest, context: Context
    ) -> Any:
        name = _repository_name(request)
        await self.dataplane.load(name)
        return pb.RepositoryModelLoadResponse(model_name=name, isLoaded=True)

    async def RepositoryModelUnload(  # noqa: N802
        self, request: pb.RepositoryModelUnloadRequest, context: Context
    ) -> Any:
        name = _repository_name(request)
        await self.dataplane.unload(name)
        return pb.RepositoryModelUnloadResponse(model_name=name, isUnloaded=True)


def _repository_name(
    request: pb.RepositoryModelLoadRequest | pb.RepositoryModelUnloadRequest,
) -> str:
    name = request.model_name or request.triton_model_name
    if not name:
        raise InvalidInput("model_name is empty")
    return name


# rpc name → (request type, response type)
METHODS: dict[str, tuple[Any, Any]] = {
    "ServerLive": (pb.ServerLiveRequest, pb.ServerLiveResponse),
    "ServerReady": (pb.ServerReadyRequest, pb.ServerReadyResponse),
    "ModelReady": (pb.ModelReadyRequest, pb.ModelReadyResponse),
    "ServerMetadata": (pb.ServerMetadataRequest, pb.ServerMetadataResponse),
    "ModelMetadata": (pb.ModelMetadataRequest, pb.ModelMetadataResponse),
    "ModelInfer": (pb.ModelInferRequest, pb.ModelInferResponse),
    "RepositoryModelLoad": (pb.RepositoryModelLoadRequest, pb.RepositoryModelLoadResponse),
    "RepositoryModelUnload": (pb.RepositoryModelUnloadRequest, pb.RepositoryModelUnloadResponse),
}


def counted(rpc: Rpc, metrics: RequestMetrics) -> Rpc:
    """ModelInfer's count, latency and in-flight gauge, beside REST's (NOT_FOUND uncounted:
    unbounded names)."""

    async def wrapper(request: Any, context: Context) -> Any:
        started = time.perf_counter()
        model = request.model_name
        metrics.enter(model, "grpc-v2")
        try:
            response = await rpc(request, context)
        except Exception as exc:
            code = errors.code_for(exc)
            if code is not grpc.StatusCode.NOT_FOUND:
                seconds = time.perf_counter() - started
                metrics.count_request(model, "grpc-v2", code.name, seconds)
            raise
        finally:
            metrics.leave(model, "grpc-v2")
        metrics.count_request(model, "grpc-v2", "OK", time.perf_counter() - started)
        return response

    return wrapper


def handler(
    dataplane: DataPlane, *, metrics: RequestMetrics | None = None
) -> grpc.GenericRpcHandler:
    servicer = Servicer(dataplane)
    rpcs: dict[str, Rpc] = {name: getattr(servicer, name) for name in METHODS}
    if metrics is not None:
        rpcs["ModelInfer"] = counted(rpcs["ModelInfer"], metrics)
    rpcs = {name: errors.handled(parsed(rpcs[name], kind)) for name, (kind, _) in METHODS.items()}
    return grpc.method_handlers_generic_handler(
        SERVICE,
        {
            # no request_deserializer: grpc would answer UNKNOWN to bytes that do not parse
            name: grpc.unary_unary_rpc_method_handler(
                rpcs[name], response_serializer=response_type.SerializeToString
            )
            for name, (_, response_type) in METHODS.items()
        },
    )


def parsed(rpc: Rpc, kind: Any) -> Rpc:
    """The rpc taking raw bytes: a message that does not parse is the client's error."""

    @functools.wraps(rpc)
    async def wrapper(raw: bytes, context: Context) -> Any:
        try:
            request = kind.FromString(raw)
        except DecodeError as exc:
            raise InvalidInput(f"not a valid {kind.DESCRIPTOR.full_name} message: {exc}") from None
        return await rpc(request, context)

    return wrapper
