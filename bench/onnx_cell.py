"""The ONNX cell of `make bench`: our server with `--framework=onnx` against the bare aiohttp +
orjson + onnxruntime handler (bench/ceiling_onnx.py) on the same model, V2 single row and
64-row batch at 16 connections; goal: ≥ 0.8 x the ceiling's req/s."""

import json
import pathlib
import subprocess
from typing import Any

from bench import load, servers

MODEL = "mlp"
PORTS = {"ours": 8120, "ceiling": 8130}
CONNECTIONS = 16
GOAL = 0.8
ROW = [6.8, 2.8, 4.8, 1.4]


def bodies() -> dict[str, bytes]:
    def body(rows: int) -> bytes:
        tensor = {"name": "x", "shape": [rows, 4], "datatype": "FP32", "data": ROW * rows}
        return json.dumps({"inputs": [tensor]}).encode()

    return {"v2-row": body(1), "v2-batch": body(load.BATCH_ROWS)}


def run(
    *,
    ours_bin: str,
    our_python: str,
    repo: pathlib.Path,
    work: pathlib.Path,
    plan: dict[str, Any],
    server_core: int,
    wrk_core: int,
) -> dict[str, Any]:
    model_dir = work / "onnx"
    subprocess.run(
        [our_python, str(repo / "bench" / "onnx_model.py"), "--out", str(model_dir)], check=True
    )
    ready = f"/v2/models/{MODEL}/ready"
    fleet = [
        servers.Server(
            "ours",
            PORTS["ours"],
            [
                ours_bin,
                "--model_name",
                MODEL,
                "--model_dir",
                str(model_dir),
                "--framework=onnx",
                "--http_port",
                str(PORTS["ours"]),
                "--enable_grpc",
                "false",
            ],
            ready,
            ("v2-row", "v2-batch"),
        ),
        servers.Server(
            "ceiling",
            PORTS["ceiling"],
            [
                our_python,
                str(repo / "bench" / "ceiling_onnx.py"),
                "--model_dir",
                str(model_dir),
                "--http_port",
                str(PORTS["ceiling"]),
            ],
            ready,
            ("v2-row", "v2-batch"),
        ),
    ]
    requests = bodies()
    for endpoint, body in requests.items():
        (work / f"onnx-{endpoint}.json").write_bytes(body)
    path = f"/v2/models/{MODEL}/infer"
    rounds: list[dict[str, dict[str, float]]] = []
    running: dict[str, servers.Running] = {}
    try:
        for server in fleet:
            running[server.name] = servers.start(
                server, core=server_core, log=work / f"onnx-{server.name}.log"
            )
        answers = {
            name: [json.loads(servers.post(s.server.port, path, b)[1]) for b in requests.values()]
            for name, s in running.items()
        }
        for name, got in answers.items():
            data = [a["outputs"][0]["data"] for a in got]
            want = [a["outputs"][0]["data"] for a in answers["ceiling"]]
            if any(
                abs(x - y) > 1e-5
                for d, w in zip(data, want, strict=True)
                for x, y in zip(d, w, strict=True)
            ):
                raise RuntimeError(f"onnx: {name} answers differ from the ceiling's")
        for r in range(plan["rounds"]):
            cells: dict[str, dict[str, float]] = {}
            for k, endpoint in enumerate(requests):
                order = fleet if (r + k) % 2 == 0 else fleet[::-1]
                for server in order:
                    common = {
                        "url": f"http://127.0.0.1:{server.port}{path}",
                        "body_file": work / f"onnx-{endpoint}.json",
                        "connections": CONNECTIONS,
                        "core": wrk_core,
                        "script": repo / "bench" / "post.lua",
                    }
                    load.wrk(**common, seconds=plan["warmup_s"])
                    stats = load.wrk(**common, seconds=plan["duration_s"])
                    cells.setdefault(endpoint, {})[server.name] = stats["rps"]
            rounds.append(cells)
        start_to_ready = {name: s.start_to_ready_s for name, s in running.items()}
    finally:
        for run_ in running.values():
            servers.stop(run_.proc)
    ratios = {
        endpoint: sorted(c[endpoint]["ours"] / c[endpoint]["ceiling"] for c in rounds)[
            len(rounds) // 2
        ]
        for endpoint in requests
    }
    return {
        "connections": CONNECTIONS,
        "rounds": rounds,
        "ratio_to_ceiling": ratios,
        "goal": GOAL,
        "met": all(v >= GOAL for v in ratios.values()),
        "start_to_ready_s": start_to_ready,
    }


def markdown(cell: dict[str, Any]) -> str:
    lines = [
        "",
        f"## ONNX cell (V2, {cell['connections']} connections; goal ≥ {cell['goal']} x ceiling)",
        "",
        "| endpoint | ours req/s | ceiling req/s | ours / ceiling |",
        "| --- | --- | --- | --- |",
    ]
    last = cell["rounds"][-1]
    for endpoint, ratio in cell["ratio_to_ceiling"].items():
        lines.append(
            f"| {endpoint} | {last[endpoint]['ours']:.0f} | {last[endpoint]['ceiling']:.0f} "
            f"| {ratio:.2f} |"
        )
    ready = ", ".join(f"{k} {v:.2f} s" for k, v in cell["start_to_ready_s"].items())
    lines += ["", f"start → ready: {ready}", ""]
    return "\n".join(lines)
