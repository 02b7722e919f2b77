"""The LLM cell of `make bench`: our Hugging Face runtime's OpenAI API against transformers'
own `generate` in a bare loop (bench/llm_ceiling.py) on the same tiny GPT-2 (bench/tiny_gpt2.py).

For 1 and 8 concurrent streams: tokens per second (every stream's completion tokens over the
wall time from the first request to the last token) and time to first token (request sent to
the first text chunk, median over the streams), each the median over the rounds; and start→ready
(spawn to the model's first ready 200, or to the ceiling's `ready` line). Ours is streamed
(`stream: true`, server-sent events, greedy) by one client thread a stream. The sides take
turns (ours first, then the ceiling first), so drift hits both alike. Goals: tokens/s at least 0.9x
the ceiling's, time to first token at most the ceiling's + 50 ms.

Run with the torch venv's python: `make bench-llm` (also the last cell of `make bench`);
BENCH_QUICK=1: one pair, one round, 16 tokens. Results: bench/results/llm-<time>.json and .md.
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import json
import os
import pathlib
import platform
import subprocess
import sys
import tempfile
import threading
import time
from statistics import median
from typing import Any

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench import tiny_gpt2  # noqa: E402

PORT = 8160
PROMPT = "the quick brown fox"
GOAL_RATIO, GOAL_TTFT_S = 0.9, 0.050
THREADS = 1  # torch intra-op threads on both sides (our --nthread default)


def spawn_ours(model_dir: pathlib.Path, *, python: str, log: pathlib.Path, port: int) -> Any:
    argv = [python, "-m", "kserve_server", "--framework", "huggingface"]
    argv += ["--model_name", tiny_gpt2.NAME, "--model_dir", str(model_dir)]
    argv += ["--http_port", str(port), "--enable_grpc", "false", "--host", "127.0.0.1"]
    argv += ["--nthread", str(THREADS)]
    env = {**os.environ, "PYTHONPATH": str(REPO / "server" / "src")}
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"our server exited {proc.returncode}: see {log}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", f"/v1/models/{tiny_gpt2.NAME}")
            if conn.getresponse().status == 200:
                return proc, time.perf_counter() - started
        except OSError:
            pass
        time.sleep(0.02)


def stream_once(port: int, tokens: int, out: dict[str, float]) -> None:
    """One streamed completion: start, first text chunk and end times, and its token count."""
    body = json.dumps(
        {
            "model": tiny_gpt2.NAME,
            "prompt": PROMPT,
            "max_tokens": tokens,
            "temperature": 0,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
    )
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    out["start"] = time.perf_counter()
    conn.request("POST", "/openai/v1/completions", body, {"Content-Type": "application/json"})
    response = conn.getresponse()
    assert response.status == 200, response.read()
    for raw in response:
        line = raw.strip()
        if not line.startswith(b"data: ") or line == b"data: [DONE]":
            continue
        chunk = json.loads(line[6:])
        if "first" not in out and any(c.get("text") for c in chunk["choices"]):
            out["first"] = time.perf_counter()
        if chunk.get("usage"):
            out["tokens"] = chunk["usage"]["completion_tokens"]
    out["end"] = time.perf_counter()
    out.setdefault("first", out["end"])
    conn.close()


def run_ours(
    model_dir: pathlib.Path, *, python: str, work: pathlib.Path, plan: dict[str, Any]
) -> dict[str, Any]:
    port = plan["port"]
    proc, ready = spawn_ours(model_dir, python=python, log=work / "ours.log", port=port)
    try:
        stream_once(port, plan["tokens"], {})  # warm-up
        results: dict[str, Any] = {}
        for streams in plan["streams"]:
            rounds = []
            for _ in range(plan["rounds"]):
                outs: list[dict[str, float]] = [{} for _ in range(streams)]
                threads = [
                    threading.Thread(target=stream_once, args=(port, plan["tokens"], o))
                    for o in outs
                ]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                rounds.append(outs)
            results[str(streams)] = rounds
    finally:
        proc.terminate()
        proc.wait(30)
    return {"start_to_ready_s": ready, "rounds": results}


def run_ceiling(model_dir: pathlib.Path, *, python: str, plan: dict[str, Any]) -> dict[str, Any]:
    argv = [python, str(REPO / "bench" / "llm_ceiling.py"), "--model_dir", str(model_dir)]
    argv += ["--prompt", PROMPT, "--tokens", str(plan["tokens"]), "--rounds", str(plan["rounds"])]
    argv += ["--streams", ",".join(str(s) for s in plan["streams"]), "--threads", str(THREADS)]
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    ready = time.perf_counter() - started
    results = json.loads(proc.stdout.readline())
    proc.wait(30)
    return {"start_to_ready_s": ready, "rounds": results}


def summary(rounds: list[list[dict[str, float]]]) -> dict[str, float]:
    """Median over rounds of the aggregate tokens/s and of the streams' median TTFT."""
    rates, firsts, tokens = [], [], []
    for outs in rounds:
        wall = max(o["end"] for o in outs) - min(o["start"] for o in outs)
        total = sum(o["tokens"] for o in outs)
        rates.append(total / wall)
        firsts.append(median(o["first"] - o["start"] for o in outs))
        tokens.append(total / len(outs))
    return {
        "tokens_per_s": median(rates),
        "ttft_s": median(firsts),
        "tokens_per_stream": median(tokens),
    }


def measure(plan: dict[str, Any], *, python: str, work: pathlib.Path) -> dict[str, Any]:
    model_dir = tiny_gpt2.build(work, positions=plan["tokens"] + 64)
    pairs: list[dict[str, Any]] = []
    for pair in range(plan["pairs"]):
        order = ["ours", "ceiling"] if pair % 2 == 0 else ["ceiling", "ours"]
        got: dict[str, Any] = {}
        for side in order:
            if side == "ours":
                got[side] = run_ours(model_dir, python=python, work=work, plan=plan)
            else:
                got[side] = run_ceiling(model_dir, python=python, plan=plan)
        pairs.append(got)
    cells: dict[str, Any] = {}
    for streams in plan["streams"]:
        row: dict[str, Any] = {}
        for side in ("ours", "ceiling"):
            every = [r for p in pairs for r in p[side]["rounds"][str(streams)]]
            row[side] = summary(every)
        row["ratio"] = row["ours"]["tokens_per_s"] / row["ceiling"]["tokens_per_s"]
        row["ttft_extra_s"] = row["ours"]["ttft_s"] - row["ceiling"]["ttft_s"]
        row["goal_met"] = row["ratio"] >= GOAL_RATIO and row["ttft_extra_s"] <= GOAL_TTFT_S
        cells[str(streams)] = row
    ready = {s: median(p[s]["start_to_ready_s"] for p in pairs) for s in ("ours", "ceiling")}
    return {"plan": plan, "cells": cells, "start_to_ready_s": ready, "pairs": pairs}


def markdown(result: dict[str, Any]) -> str:
    plan = result["plan"]
    lines = [
        f"# LLM cell {result['when']} (main {result['commit']})",
        "",
        f"Tiny GPT-2 (2 layers, 32 wide), greedy, {plan['tokens']} tokens a stream, "
        f"{plan['pairs']} pairs x {plan['rounds']} rounds; load average before "
        f"{result['load_before']}. Ours: streamed /openai/v1/completions; ceiling: "
        "transformers' generate in a bare loop (a thread a stream).",
        "",
        "| streams | ours tok/s | ceiling tok/s | ratio (goal >= 0.9) | ours TTFT ms | "
        "ceiling TTFT ms | extra ms (goal <= 50) | goal |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for streams, row in result["cells"].items():
        ours, ceiling = row["ours"], row["ceiling"]
        lines.append(
            f"| {streams} | {ours['tokens_per_s']:.0f} | {ceiling['tokens_per_s']:.0f} | "
            f"{row['ratio']:.2f} | {ours['ttft_s'] * 1000:.1f} | {ceiling['ttft_s'] * 1000:.1f} | "
            f"{row['ttft_extra_s'] * 1000:+.1f} | {'met' if row['goal_met'] else 'NOT met'} |"
        )
    ready = result["start_to_ready_s"]
    lines += [
        "",
        f"Start to ready (median): ours {ready['ours']:.2f} s, ceiling {ready['ceiling']:.2f} s "
        "(the ceiling imports torch and transformers and loads the model; ours also starts "
        "the HTTP server and answers its readiness probe).",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--out", default=str(REPO / "bench" / "results"))
    args = p.parse_args()
    quick = os.environ.get("BENCH_QUICK", "") not in ("", "0")
    plan = {
        "tokens": 16 if quick else 64,
        "streams": [1, 8],
        "rounds": 1 if quick else 3,
        "pairs": 1 if quick else 4,
        "port": PORT,
    }
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-llm-") as tmp:
        result = measure(plan, python=sys.executable, work=pathlib.Path(tmp))
    result["load_before"] = load_before
    now = datetime.datetime.now(datetime.UTC)
    result["when"] = now.strftime("%Y%m%dT%H%M%SZ")
    result["commit"] = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    result["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version()}
    out = pathlib.Path(args.out) / ("quick" if quick else "")
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"llm-{result['when']}"
    stem.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n")
    stem.with_suffix(".md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
