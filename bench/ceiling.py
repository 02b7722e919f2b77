"""The ceiling: a bare aiohttp handler doing the same predict in-process, nothing else.

Same libraries as our server (run with our .venv's python): stdlib json, numpy, the joblib model.
No validation, no metrics, no logging; what any server on aiohttp can at best reach.
"""

import argparse
import json
import pathlib
from typing import Any

import joblib
import numpy as np
from aiohttp import web

MODEL: web.AppKey[Any] = web.AppKey("model", object)


async def ready(request: web.Request) -> web.Response:
    return web.json_response({"name": request.match_info["name"], "ready": True})


async def v1_predict(request: web.Request) -> web.Response:
    body = json.loads(await request.read())
    predictions = request.app[MODEL].predict(np.asarray(body["instances"]))
    return web.json_response({"predictions": predictions.tolist()})


async def v2_infer(request: web.Request) -> web.Response:
    body = json.loads(await request.read())
    tensor = body["inputs"][0]
    rows = np.asarray(tensor["data"], dtype=np.float64).reshape(tensor["shape"])
    result = request.app[MODEL].predict(rows)
    output = {"name": "output-0", "shape": list(result.shape), "datatype": "INT64"}
    output["data"] = result.tolist()
    return web.json_response(
        {"model_name": request.match_info["name"], "id": body.get("id", ""), "outputs": [output]}
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model_dir", required=True)
    parser.add_argument("--http_port", type=int, default=8080)
    args = parser.parse_args()
    app = web.Application()
    (path,) = pathlib.Path(args.model_dir).glob("*.joblib")
    app[MODEL] = joblib.load(path)
    app.add_routes(
        [
            web.get("/v1/models/{name}", ready),
            web.post("/v1/models/{name}:predict", v1_predict),
            web.post("/v2/models/{name}/infer", v2_infer),
        ]
    )
    web.run_app(app, host="127.0.0.1", port=args.http_port, access_log=None, print=None)


if __name__ == "__main__":
    main()
