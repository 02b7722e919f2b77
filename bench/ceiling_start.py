"""The start-up cell's ceiling: a bare aiohttp handler that loads the same model file as our
runtime does (joblib, xgboost.Booster, lightgbm.Booster, an onnxruntime session), then serves V1
ready and predict.

Nothing else is imported or set up: its start→ready is what any aiohttp server with this model
needs at least (the interpreter, aiohttp, numpy, the framework, the load). The same stack as the
throughput ceiling (bench/ceiling.py): uvloop's event loop, orjson, the access log off.
"""

import argparse
import pathlib
from collections.abc import Callable
from typing import Any

import numpy as np
import orjson
import uvloop
from aiohttp import web

PREDICT: web.AppKey[Callable[[Any], Any]] = web.AppKey("predict", object)


def loader(framework: str, model_dir: pathlib.Path) -> Callable[[Any], Any]:
    if framework == "sklearn":
        import joblib

        (path,) = model_dir.glob("*.joblib")
        return joblib.load(path).predict  # type: ignore[no-any-return]
    if framework == "xgboost":
        import xgboost

        (path,) = model_dir.glob("*.json")
        booster = xgboost.Booster(params={"nthread": 1}, model_file=str(path))
        return lambda rows: booster.predict(xgboost.DMatrix(np.asarray(rows, np.float32)))
    if framework == "onnx":
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(
            str(model_dir / "model.onnx"), sess_options=options, providers=["CPUExecutionProvider"]
        )
        (port,) = session.get_inputs()
        return lambda rows: session.run(None, {port.name: np.asarray(rows, np.float32)})[0]
    import lightgbm

    (path,) = model_dir.glob("*.bst")
    gbm = lightgbm.Booster(model_file=str(path))
    return lambda rows: gbm.predict(np.asarray(rows, np.float64), num_threads=1)


def answer(value: Any) -> web.Response:
    return web.Response(body=orjson.dumps(value), content_type="application/json")


async def ready(request: web.Request) -> web.Response:
    return answer({"name": request.match_info["name"], "ready": True})


async def predict(request: web.Request) -> web.Response:
    body = orjson.loads(await request.read())
    predictions = request.app[PREDICT](np.asarray(body["instances"]))
    return answer({"predictions": np.asarray(predictions).tolist()})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--framework", required=True, choices=["sklearn", "xgboost", "lightgbm", "onnx"]
    )
    parser.add_argument("--model_dir", required=True, type=pathlib.Path)
    parser.add_argument("--http_port", type=int, default=8080)
    args = parser.parse_args()
    app = web.Application()
    app[PREDICT] = loader(args.framework, args.model_dir)
    app.add_routes(
        [web.get("/v1/models/{name}", ready), web.post("/v1/models/{name}:predict", predict)]
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
