"""Runs inside the upstream `kserve` SDK's own venv (hack/kserve-sdk-venv.sh), never ours.

    python kserve_sdk_grpc_driver.py 127.0.0.1:GRPC_PORT

drives our server with the SDK's InferenceGRPCClient unchanged (typed and raw contents, text,
bad requests) and prints one JSON object of what it got back, for test_grpc_clients.py.
"""

import asyncio
import json
import sys

import grpc
import numpy as np
from kserve import InferenceGRPCClient, InferInput, InferRequest
from kserve.protocol.grpc import grpc_predict_v2_pb2 as pb
from kserve.protocol.grpc import grpc_predict_v2_pb2_grpc

ROWS = [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]]


def iris(*, raw: bool, name: str = "sklearn-iris", shape: tuple = (2, 4)) -> InferRequest:
    tensor = InferInput(name="input-0", shape=list(shape), datatype="FP32")
    data = np.asarray(ROWS, dtype=np.float32).reshape(-1)[: int(np.prod(shape))]
    if raw:
        tensor.set_data_from_numpy(data.reshape(shape), binary_data=True)
    else:
        tensor.set_data_from_numpy(data.reshape(shape), binary_data=False)
    return InferRequest(model_name=name, infer_inputs=[tensor], request_id="sdk-grpc-1")


async def failure(call) -> list:
    try:
        await call
    except grpc.RpcError as err:
        return [err.code().name, err.details()]
    return ["OK", ""]


async def main(target: str) -> dict:
    out: dict = {}
    client = InferenceGRPCClient(target, retries=0)
    out["live"] = await client.is_server_live()
    out["ready"] = await client.is_server_ready()
    out["model_ready"] = await client.is_model_ready("sklearn-iris")
    for raw in (False, True):
        response = await client.infer(iris(raw=raw))
        out[f"iris_{'raw' if raw else 'typed'}"] = {
            "id": response.id,
            "model_name": response.model_name,
            "data": response.outputs[0].as_numpy().tolist(),
            "datatype": response.outputs[0].datatype,
        }
    texts = InferInput(name="text", shape=[2], datatype="BYTES")
    texts.set_data_from_numpy(
        np.asarray(["Hello, how are you?", "I want to cancel my subscription"], dtype=object),
        binary_data=False,
    )
    response = await client.infer(
        InferRequest(model_name="intent-classifier", infer_inputs=[texts])
    )
    out["intent"] = [
        v.decode() if isinstance(v, bytes) else v for v in response.outputs[0].as_numpy().tolist()
    ]
    out["unknown_model"] = await failure(client.infer(iris(raw=False, name="nope")))
    out["unknown_model_ready"] = await failure(client.is_model_ready("nope"))
    out["wrong_width"] = await failure(client.infer(iris(raw=False, shape=(2, 2))))
    words = InferInput(name="input-0", shape=[2, 4], datatype="BYTES", data=["x"] * 8)
    out["text_to_iris"] = await failure(
        client.infer(InferRequest(model_name="sklearn-iris", infer_inputs=[words]))
    )
    # the SDK refuses unknown datatypes itself: send one through its generated stub
    async with grpc.aio.insecure_channel(target) as channel:
        stub = grpc_predict_v2_pb2_grpc.GRPCInferenceServiceStub(channel)
        request = pb.ModelInferRequest(model_name="sklearn-iris")
        tensor = request.inputs.add(name="input-0", datatype="FP99", shape=[2, 4])
        tensor.contents.fp32_contents.extend([1.0] * 8)
        out["wrong_datatype"] = await failure(stub.ModelInfer(request))
    after = await client.infer(iris(raw=False))
    out["after_errors"] = after.outputs[0].as_numpy().tolist()
    await client.close()
    return out


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1]))))
