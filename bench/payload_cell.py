"""The payload cell of `make bench`: our server's batcher and payload logger, V1 single-row
requests at 64 connections.

Rows: iris (the tutorial's SVC) plain, batched and logging every request and response to a sink
on loopback (goal: ≤ 10 % fewer req/s than plain); a 300-tree random forest plain and batched
(goal: batched ≥ 2 x plain). The batcher runs with --max-batchsize 32 --max-latency 10.
"""

import json
import pathlib
import statistics
import subprocess
import time
from typing import Any

from bench import load, servers

MODEL = "m"
CONNECTIONS = 64
ROW = [6.8, 2.8, 4.8, 1.4]
SINK_PORT = 8190
BATCHER = ["--enable-batcher", "--max-batchsize", "32", "--max-latency", "10"]
ROWS = {  # name → (model, port, extra flags)
    "iris": ("iris", 8140, []),
    "iris-batched": ("iris", 8141, BATCHER),
    "iris-logged": ("iris", 8142, ["--log-url", f"http://127.0.0.1:{SINK_PORT}/"]),
    "forest": ("forest", 8143, []),
    "forest-batched": ("forest", 8144, BATCHER),
}
GOALS = {"logger_overhead_max": 0.10, "forest_batched_min": 2.0}
SLOW_RUN_S = 10  # wrk takes whole seconds


def settle(pid: int, *, limit_s: float = 60.0) -> None:
    """Wait until the server stops using CPU (requests a finished run left queued are done)."""
    deadline = time.monotonic() + limit_s
    before = servers.cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(0.3)
        now = servers.cpu_seconds(pid)
        if now - before < 0.03:
            return
        before = now


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
    models = {"iris": work / "models" / "sklearn-iris", "forest": work / "forest"}
    if not models["iris"].exists():
        subprocess.run(
            [our_python, str(repo / "examples" / "train.py"), "--out", str(work / "models")],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    subprocess.run(
        [our_python, str(repo / "bench" / "forest_model.py"), "--out", str(models["forest"])],
        check=True,
    )
    body = work / "payload-row.json"
    body.write_bytes(json.dumps({"instances": [ROW]}).encode())
    path = f"/v1/models/{MODEL}:predict"
    fleet = [
        servers.Server(
            name,
            port,
            [
                ours_bin,
                "--model_name",
                MODEL,
                "--model_dir",
                str(models[model]),
                "--http_port",
                str(port),
                "--enable_grpc",
                "false",
                *extra,
            ],
            f"/v1/models/{MODEL}",
            ("v1-row",),
        )
        for name, (model, port, extra) in ROWS.items()
    ]
    sink = servers.Server(
        "sink",
        SINK_PORT,
        [our_python, str(repo / "bench" / "sink.py"), "--port", str(SINK_PORT)],
        "/ready",
        (),
    )
    rounds: list[dict[str, dict[str, float]]] = []
    running: dict[str, servers.Running] = {}
    try:
        running["sink"] = servers.start(sink, core=wrk_core, log=work / "payload-sink.log")
        for server in fleet:
            running[server.name] = servers.start(
                server, core=server_core, log=work / f"payload-{server.name}.log"
            )
        for server in fleet:
            status, answer = servers.post(server.port, path, body.read_bytes())
            if status != 200 or len(json.loads(answer)["predictions"]) != 1:
                raise RuntimeError(f"payload: {server.name} answered {status}: {answer[:200]!r}")
        for r in range(plan["rounds"]):
            cells: dict[str, dict[str, float]] = {}
            for server in fleet if r % 2 == 0 else fleet[::-1]:
                common = {
                    "url": f"http://127.0.0.1:{server.port}{path}",
                    "body_file": body,
                    "connections": CONNECTIONS,
                    "core": wrk_core,
                    "script": repo / "bench" / "post.lua",
                }
                # the forest answers in tens of ms a call: a short run would count only the
                # backlog; and a run's unanswered requests are left to finish before the next
                slow = server.name.startswith("forest")
                seconds = max(plan["duration_s"], SLOW_RUN_S) if slow else plan["duration_s"]
                load.wrk(**common, seconds=plan["warmup_s"])
                settle(running[server.name].proc.pid)
                stats = load.wrk(**common, seconds=seconds)
                settle(running[server.name].proc.pid)
                cells[server.name] = {
                    "rps": stats["rps"],
                    "p50_ms": stats["p50_us"] / 1e3,
                    "p99_ms": stats["p99_us"] / 1e3,
                    "errors": stats["errors"],
                }
            rounds.append(cells)
    finally:
        for run_ in running.values():
            servers.stop(run_.proc)

    def median_ratio(a: str, b: str) -> float:
        return statistics.median(c[a]["rps"] / c[b]["rps"] for c in rounds)

    ratios = {
        "iris_batched_vs_plain": median_ratio("iris-batched", "iris"),
        "iris_logged_vs_plain": median_ratio("iris-logged", "iris"),
        "forest_batched_vs_plain": median_ratio("forest-batched", "forest"),
    }
    return {
        "connections": CONNECTIONS,
        "batcher_flags": BATCHER,
        "rounds": rounds,
        "ratios": ratios,
        "goals": GOALS,
        "met": {
            "logger_overhead": 1 - ratios["iris_logged_vs_plain"] <= GOALS["logger_overhead_max"],
            "forest_batched": ratios["forest_batched_vs_plain"] >= GOALS["forest_batched_min"],
        },
    }


def markdown(cell: dict[str, Any]) -> str:
    lines = [
        "",
        f"## Payload cell (V1 row, {cell['connections']} connections; batcher "
        f"{' '.join(cell['batcher_flags'][1:])})",
        "",
        "| server | req/s | p50 ms | p99 ms | errors |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, row in cell["rounds"][-1].items():
        lines.append(
            f"| {name} | {row['rps']:.0f} | {row['p50_ms']:.1f} | {row['p99_ms']:.1f} "
            f"| {row['errors']} |"
        )
    r = cell["ratios"]
    lines += [
        "",
        f"iris batched / plain: {r['iris_batched_vs_plain']:.2f} x; logger on / off: "
        f"{r['iris_logged_vs_plain']:.2f} x (goal ≥ {1 - cell['goals']['logger_overhead_max']:.2f}"
        f", met: {cell['met']['logger_overhead']}); forest batched / plain: "
        f"{r['forest_batched_vs_plain']:.2f} x (goal ≥ {cell['goals']['forest_batched_min']:.1f}, "
        f"met: {cell['met']['forest_batched']})",
        "",
    ]
    return "\n".join(lines)
