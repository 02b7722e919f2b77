"""Request bodies and one wrk run: POST a body at N connections, read back the Lua summary."""

import json
import os
import pathlib
import subprocess
from typing import Any

from bench import servers

ROW = [6.8, 2.8, 4.8, 1.4]  # iris versicolor: class 1 from the SVC
BATCH_ROWS = 64


def bodies() -> dict[str, tuple[str, bytes, list[int]]]:
    """Endpoint → (path, body, expected predictions)."""
    v1 = f"/v1/models/{servers.MODEL_NAME}:predict"
    v2 = f"/v2/models/{servers.MODEL_NAME}/infer"

    def v2_body(rows: int) -> bytes:
        tensor = {"name": "input-0", "shape": [rows, 4], "datatype": "FP64", "data": ROW * rows}
        return json.dumps({"inputs": [tensor]}).encode()

    return {
        "v1-row": (v1, json.dumps({"instances": [ROW]}).encode(), [1]),
        "v2-row": (v2, v2_body(1), [1]),
        "v1-batch": (v1, json.dumps({"instances": [ROW] * BATCH_ROWS}).encode(), [1] * BATCH_ROWS),
        "v2-batch": (v2, v2_body(BATCH_ROWS), [1] * BATCH_ROWS),
    }


def check_answer(endpoint: str, status: int, body: bytes, expected: list[int]) -> str | None:
    """None when the server answered the request right, else what was wrong."""
    if status != 200:
        return f"{endpoint}: HTTP {status}: {body[:300]!r}"
    doc = json.loads(body)
    got = doc["predictions"] if endpoint.startswith("v1") else doc["outputs"][0]["data"]
    if [int(x) for x in got] != expected:
        return f"{endpoint}: predictions {got[:4]}... differ from {expected[:4]}..."
    return None


def wrk(
    *,
    url: str,
    body_file: pathlib.Path,
    connections: int,
    seconds: float,
    core: int,
    script: pathlib.Path,
    host: str | None = None,
    delay_ms: int | None = None,
) -> dict[str, Any]:
    """One wrk run on one thread pinned to `core`; the parsed BENCH_JSON line. `host`: a Host
    header (a gateway routes by it); `delay_ms`: each connection pauses that long before each
    request (post.lua), a load below what the server can take."""
    argv = [
        "taskset",
        "-c",
        str(core),
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        *(["-H", f"Host: {host}"] if host else []),
        url,
    ]
    env = {**os.environ, "BENCH_BODY": str(body_file)}
    if delay_ms is not None:
        env["BENCH_DELAY_MS"] = str(delay_ms)
    out = subprocess.run(argv, env=env, capture_output=True, text=True, check=True).stdout
    line = next((x for x in out.splitlines() if x.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary:\n{out}")
    stats: dict[str, Any] = json.loads(line.removeprefix("BENCH_JSON "))
    errors = sum(stats[k] for k in ("connect", "read", "write", "timeout")) + stats["non2xx"]
    stats["errors"] = errors
    stats["rps"] = stats["requests"] / (stats["duration_us"] / 1e6)
    return stats
