"""The start-up cell of `make bench`: start→ready of our server against the bare aiohttp handler
(bench/ceiling_start.py) on the same model, for sklearn, XGBoost, LightGBM and ONNX.

Each run spawns one server pinned to the server core and times it from the spawn to the model's
first ready 200, then stops it; ours and the ceiling take turns (A B, then B A), so drift hits
both alike. Ours runs as a pod runs it (gRPC on, its defaults). Goal: ours ≤ ceiling + 0.1 s
(median of the per-pair differences); CPU seconds to ready are reported beside the wall time.

Bytecode is cached as in our image (pip compiles it there), whatever PYTHONDONTWRITEBYTECODE the
caller has: the servers write it under the work directory (PYTHONPYCACHEPREFIX) in one unrecorded
start each, never beside the sources.
"""

from __future__ import annotations

import json
import pathlib
import subprocess
from statistics import median
from typing import Any

from bench import servers

FRAMEWORKS = ("sklearn", "xgboost", "lightgbm", "onnx")
MODEL = "iris"
PORTS = {"ours": 8140, "ceiling": 8150}
GOAL_S = 0.1
ROWS = [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]]


def define(
    framework: str,
    *,
    ours_bin: str,
    our_python: str,
    repo: pathlib.Path,
    model_dir: pathlib.Path,
    pycache: pathlib.Path,
) -> list[servers.Server]:
    ready = f"/v1/models/{MODEL}"
    ours = [ours_bin, "--model_name", MODEL, "--model_dir", str(model_dir)]
    ours += ["--framework", framework, "--http_port", str(PORTS["ours"])]
    ours += ["--grpc_port", str(PORTS["ours"] + 1)]
    ceiling = [our_python, str(repo / "bench" / "ceiling_start.py"), "--framework", framework]
    ceiling += ["--model_dir", str(model_dir), "--http_port", str(PORTS["ceiling"])]
    env = {"PYTHONDONTWRITEBYTECODE": "", "PYTHONPYCACHEPREFIX": str(pycache)}
    return [
        servers.Server(
            "ours",
            PORTS["ours"],
            ours,
            ready,
            ("v1-row",),
            env=env,
            ready_log=servers.OURS_READY.format(model=MODEL),
        ),
        servers.Server("ceiling", PORTS["ceiling"], ceiling, ready, ("v1-row",), env=env),
    ]


def run(
    *,
    ours_bin: str,
    our_python: str,
    repo: pathlib.Path,
    work: pathlib.Path,
    runs: int,
    server_core: int,
) -> dict[str, Any]:
    models = work / "startup"
    subprocess.run(
        [our_python, str(repo / "examples" / "train.py"), "--out", str(models)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    subprocess.run(
        [our_python, str(repo / "bench" / "boosters_model.py"), "--out", str(models)], check=True
    )
    subprocess.run(
        [our_python, str(repo / "bench" / "onnx_model.py"), "--out", str(models / "onnx")],
        check=True,
    )
    dirs = {"sklearn": models / "sklearn-iris", "xgboost": models / "xgboost"}
    dirs["lightgbm"] = models / "lightgbm"
    dirs["onnx"] = models / "onnx"
    cells: dict[str, Any] = {}
    for framework in FRAMEWORKS:
        fleet = define(
            framework,
            ours_bin=ours_bin,
            our_python=our_python,
            repo=repo,
            model_dir=dirs[framework],
            pycache=work / "pycache",
        )
        for server in fleet:  # unrecorded: writes the bytecode, warms the page cache
            log = work / f"startup-{framework}-{server.name}.log"
            servers.stop(servers.start(server, core=server_core, log=log).proc)
        pairs: list[dict[str, dict[str, float]]] = []
        for k in range(runs):
            pair: dict[str, dict[str, float]] = {}
            answers: dict[str, list[float]] = {}
            for server in fleet if k % 2 == 0 else fleet[::-1]:
                log = work / f"startup-{framework}-{server.name}.log"
                started = servers.start(server, core=server_core, log=log)
                try:
                    answers[server.name] = predictions(started.server.port)
                finally:
                    servers.stop(started.proc)
                pair[server.name] = {
                    "wall_s": started.start_to_ready_s,
                    "cpu_s": started.cpu_to_ready_s,
                }
            ours, ceiling = answers["ours"], answers["ceiling"]
            if len(ours) != len(ceiling) or any(
                abs(a - b) > 1e-6 for a, b in zip(ours, ceiling, strict=True)
            ):
                raise RuntimeError(f"startup: {framework}: ours {ours} but the ceiling {ceiling}")
            pairs.append(pair)
            print(f"bench: startup {framework} run {k + 1}/{runs}: {pair}", flush=True)
        cells[framework] = summarize(pairs)
    return {
        "runs": runs,
        "goal_s": GOAL_S,
        "frameworks": cells,
        "met": all(c["ours_minus_ceiling_s"] <= GOAL_S for c in cells.values()),
    }


def predictions(port: int) -> list[float]:
    """The V1 predictions for ROWS, flattened (class ids, or per-class probabilities)."""
    body = json.dumps({"instances": ROWS}).encode()
    status, answer = servers.post(port, f"/v1/models/{MODEL}:predict", body)
    if status != 200:
        raise RuntimeError(f"startup: predict answered {status}: {answer[:200]!r}")
    flat: list[float] = []
    for p in json.loads(answer)["predictions"]:
        flat.extend(float(x) for x in (p if isinstance(p, list) else [p]))
    return flat


def summarize(pairs: list[dict[str, dict[str, float]]]) -> dict[str, Any]:
    """Medians over the runs; the difference and the ratio are taken pair by pair first."""

    def med(name: str, what: str) -> float:
        return median(p[name][what] for p in pairs)

    return {
        "pairs": pairs,
        "ours_wall_s": med("ours", "wall_s"),
        "ceiling_wall_s": med("ceiling", "wall_s"),
        "ours_cpu_s": med("ours", "cpu_s"),
        "ceiling_cpu_s": med("ceiling", "cpu_s"),
        "ours_minus_ceiling_s": median(p["ours"]["wall_s"] - p["ceiling"]["wall_s"] for p in pairs),
        "ratio": median(p["ours"]["wall_s"] / p["ceiling"]["wall_s"] for p in pairs),
    }


def markdown(cell: dict[str, Any]) -> str:
    lines = [
        "",
        f"## Start-up cell (spawn → model ready, median of {cell['runs']} runs each; "
        f"goal: ours ≤ ceiling + {cell['goal_s']} s)",
        "",
        "| framework | ours s | ceiling s | ours - ceiling s | ours / ceiling "
        "| CPU s ours | CPU s ceiling |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for framework, c in cell["frameworks"].items():
        lines.append(
            f"| {framework} | {c['ours_wall_s']:.2f} | {c['ceiling_wall_s']:.2f} "
            f"| {c['ours_minus_ceiling_s']:+.2f} | {c['ratio']:.2f} "
            f"| {c['ours_cpu_s']:.2f} | {c['ceiling_cpu_s']:.2f} |"
        )
    lines += ["", f"goal met: {'yes' if cell['met'] else 'no'}", ""]
    return "\n".join(lines)
