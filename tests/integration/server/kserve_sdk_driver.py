"""Runs inside the upstream `kserve` SDK's own venv (hack/kserve-sdk-venv.sh), never ours.

    python kserve_sdk_driver.py http://127.0.0.1:PORT

drives our server with the SDK's InferenceRESTClient (V1 and V2, JSON and binary) unchanged and
prints one JSON object of what it got back, for test_kserve_sdk_client.py to assert on.
"""

import asyncio
import json
import sys

import httpx
import numpy as np
from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig

ROWS = np.asarray([[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]], dtype=np.float32)


def iris_request(*, binary_in: bool, binary_out: bool) -> InferRequest:
    tensor = InferInput(name="input-0", shape=list(ROWS.shape), datatype="FP32")
    tensor.set_data_from_numpy(ROWS, binary_data=binary_in)
    parameters = {"binary_data_output": True} if binary_out else None
    return InferRequest(
        model_name="sklearn-iris", infer_inputs=[tensor], request_id="sdk-1", parameters=parameters
    )


async def main(base: str) -> dict:
    out: dict = {}
    v1 = InferenceRESTClient(RESTConfig(protocol="v1", retries=0))
    out["v1_live"] = await v1.is_server_live(base)
    out["v1_model_ready"] = await v1.is_model_ready(base, "sklearn-iris")
    out["v1_iris"] = await v1.infer(base, {"instances": [[6.8, 2.8, 4.8, 1.4]]}, "sklearn-iris")
    out["v1_intent"] = await v1.infer(
        base, {"instances": [["Hi, how are you?"]]}, "intent-classifier"
    )
    try:
        await v1.infer(base, {"instances": [[1, 2]]}, "nope")
    except httpx.HTTPStatusError as err:
        out["v1_unknown"] = [err.response.status_code, err.response.json()]

    v2 = InferenceRESTClient(RESTConfig(protocol="v2", retries=0))
    out["v2_live"] = await v2.is_server_live(base)
    out["v2_ready"] = await v2.is_server_ready(base)
    out["v2_model_ready"] = await v2.is_model_ready(base, "sklearn-iris")
    for binary_in in (False, True):
        for binary_out in (False, True):
            request = iris_request(binary_in=binary_in, binary_out=binary_out)
            response = await v2.infer(base, request, "sklearn-iris")
            key = (
                f"v2_iris_in_{'bin' if binary_in else 'json'}_out_{'bin' if binary_out else 'json'}"
            )
            out[key] = {
                "id": response.id,
                "data": response.outputs[0].as_numpy().tolist(),
                "datatype": response.outputs[0].datatype,
            }
    texts = InferInput(name="text", shape=[2], datatype="BYTES")
    texts.set_data_from_numpy(
        np.asarray(["Hello, how are you?", "I want to cancel my subscription"], dtype=object),
        binary_data=True,
    )
    response = await v2.infer(
        base,
        InferRequest(model_name="intent-classifier", infer_inputs=[texts]),
        "intent-classifier",
    )
    out["v2_intent"] = [
        v.decode() if isinstance(v, bytes) else v for v in response.outputs[0].as_numpy().tolist()
    ]
    return out


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1]))))
