"""The ONNX ceiling: a bare aiohttp + orjson + onnxruntime V2 handler on uvloop's event loop,
nothing else (no validation, metrics or logging); run with our .venv's python. Same session
options as ours."""

import argparse
import pathlib
from typing import Any

import numpy as np
import onnxruntime
import orjson
import uvloop
from aiohttp import web

SESSION: web.AppKey[Any] = web.AppKey("session", object)


async def ready(request: web.Request) -> web.Response:
    return web.Response(body=orjson.dumps({"ready": True}), content_type="application/json")


async def v2_infer(request: web.Request) -> web.Response:
    body = orjson.loads(await request.read())
    tensor = body["inputs"][0]
    x = np.asarray(tensor["data"], dtype=np.float32).reshape(tensor["shape"])
    (y,) = request.app[SESSION].run(None, {tensor["name"]: x})
    output = {"name": "probabilities", "shape": list(y.shape), "datatype": "FP32"}
    output["data"] = y.reshape(-1).tolist()
    answer = {"model_name": request.match_info["name"], "id": "", "outputs": [output]}
    return web.Response(body=orjson.dumps(answer), content_type="application/json")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model_dir", required=True, type=pathlib.Path)
    parser.add_argument("--http_port", type=int, default=8080)
    args = parser.parse_args()
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    app = web.Application()
    app[SESSION] = onnxruntime.InferenceSession(
        str(args.model_dir / "model.onnx"), sess_options=options, providers=["CPUExecutionProvider"]
    )
    app.add_routes(
        [
            web.get("/v2/models/{name}/ready", ready),
            web.post("/v2/models/{name}/infer", v2_infer),
        ]
    )
    web.run_app(
        app,
        host="127.0.0.1",
        port=args.http_port,
        access_log=None,
        print=None,
        loop=uvloop.new_event_loop(),
    )


if __name__ == "__main__":
    main()
