"""The ceiling: the fastest bare handler on our stack doing the same predict in-process.

aiohttp on uvloop's event loop, orjson decoding and encoding, the access log off, the joblib
model's predict inline; nothing else (no validation, no metrics, no logging). Run with our .venv's
python, so every library is the version our server runs on. What any server on aiohttp can at
best reach.
"""

import argparse
import pathlib
from typing import Any

import joblib
import numpy as np
import orjson
import uvloop
from aiohttp import web

MODEL: web.AppKey[Any] = web.AppKey("model", object)


def answer(value: Any) -> web.Response:
    return web.Response(body=orjson.dumps(value), content_type="application/json")


async def ready(request: web.Request) -> web.Response:
    return answer({"name": request.match_info["name"], "ready": True})


async def v1_predict(request: web.Request) -> web.Response:
    body = orjson.loads(await request.read())
    predictions = request.app[MODEL].predict(np.asarray(body["instances"]))
    return answer({"predictions": predictions.tolist()})


async def v2_infer(request: web.Request) -> web.Response:
    body = orjson.loads(await request.read())
    tensor = body["inputs"][0]
    rows = np.asarray(tensor["data"], dtype=np.float64).reshape(tensor["shape"])
    result = request.app[MODEL].predict(rows)
    output = {"name": "output-0", "shape": list(result.shape), "datatype": "INT64"}
    output["data"] = result.tolist()
    return answer(
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
