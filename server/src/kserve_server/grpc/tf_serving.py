"""TF Serving's `tensorflow.serving.PredictionService` (Predict, GetModelMetadata) on the shared
DataPlane, so TF Serving's gRPC clients (grpc-v1, as upstream's tensorflow samples call it)
work unchanged; served beside the Open Inference Protocol on the same port."""

from __future__ import annotations

from typing import Any

import grpc

from kserve_server.dataplane import DataPlane
from kserve_server.errors import InferenceError, InvalidInput
from kserve_server.grpc import errors
from kserve_server.inference import InferResponse
from kserve_server.protocol import tf_grpc
from kserve_server.protocol import tf_serving_pb2 as pb

SERVICE = "tensorflow.serving.PredictionService"
Context = grpc.aio.ServicerContext[Any, Any]


class PredictionService:
    def __init__(self, dataplane: DataPlane) -> None:
        self.dataplane = dataplane

    async def Predict(self, request: pb.PredictRequest, context: Context) -> Any:  # noqa: N802
        name = request.model_spec.name
        if not name:
            raise InvalidInput("model_spec.name is empty")
        self.dataplane.check_model(name)
        response = await self.dataplane.infer(name, tf_grpc.decode_predict(request))
        if not isinstance(response, InferResponse):
            raise InferenceError(f"model {name} returned a V1 response to a tensor request")
        return tf_grpc.encode_predict(response, request)

    async def GetModelMetadata(  # noqa: N802
        self, request: pb.GetModelMetadataRequest, context: Context
    ) -> Any:
        metadata = self.dataplane.model_metadata(request.model_spec.name)
        return tf_grpc.encode_metadata(request, metadata)


METHODS: dict[str, tuple[Any, Any]] = {
    "Predict": (pb.PredictRequest, pb.PredictResponse),
    "GetModelMetadata": (pb.GetModelMetadataRequest, pb.GetModelMetadataResponse),
}


def handler(dataplane: DataPlane) -> grpc.GenericRpcHandler:
    service = PredictionService(dataplane)
    return grpc.method_handlers_generic_handler(
        SERVICE,
        {
            name: grpc.unary_unary_rpc_method_handler(
                errors.handled(getattr(service, name)),
                request_deserializer=request_type.FromString,
                response_serializer=response_type.SerializeToString,
            )
            for name, (request_type, response_type) in METHODS.items()
        },
    )
