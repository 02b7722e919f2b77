"""`make bench`: our server against upstream KServe, MLServer and the bare-aiohttp ceiling.

Run by hack/bench/run.sh inside a private network namespace with the harness's own venv.
BENCH_QUICK=1 is a smoke: one round, 16 connections, short runs, results under results/quick/.
"""

import argparse
import datetime
import json
import os
import pathlib
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Any

from bench import chart, load, onnx_cell, payload_cell, report, servers, startup_cell, versions

REPO = pathlib.Path(__file__).resolve().parents[1]
SERVER_CORE, WRK_CORE = 1, 0
NOISE_NOTE = (
    "This machine has 2 cores and other work may share them during a run, so absolute numbers "
    "are noisy; compare the ratios within one run."
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ours-bin", required=True, help="our kserve-model-server")
    parser.add_argument("--our-python", required=True, help="our .venv python (for the ceiling)")
    parser.add_argument("--kserve-venv", required=True)
    parser.add_argument("--mlserver-venv", required=True)
    parser.add_argument(
        "--only",
        default="",
        help="comma list of servers to run (default all); `onnx`, `payload`, `startup`: that "
        "cell alone",
    )
    args = parser.parse_args()
    quick = os.environ.get("BENCH_QUICK", "") not in ("", "0")
    plan = {
        "mode": "quick" if quick else "full",
        "rounds": 1 if quick else 2,
        "connections": [16] if quick else [1, 16, 64],
        "warmup_s": 1,
        "duration_s": 2 if quick else 3,
    }
    out_dir = REPO / "bench" / "results" / ("quick" if quick else "")
    out_dir.mkdir(parents=True, exist_ok=True)
    only = set(filter(None, args.only.split(",")))
    with tempfile.TemporaryDirectory(prefix="kserve-bench-") as tmp:
        if only - {"onnx", "payload", "startup"} or not only:
            result = run(args, plan=plan, work=pathlib.Path(tmp))
            stamp = result["meta"]["finished"].replace(":", "").replace("-", "")
            write(result, out_dir=out_dir, stamp=stamp)
        if not only or "onnx" in only:
            cell = onnx_cell.run(
                ours_bin=args.ours_bin,
                our_python=args.our_python,
                repo=REPO,
                work=pathlib.Path(tmp),
                plan=plan,
                server_core=SERVER_CORE,
                wrk_core=WRK_CORE,
            )
            cell["finished"] = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            (out_dir / "onnx-latest.json").write_text(json.dumps(cell, indent=1) + "\n")
            (out_dir / "onnx-latest.md").write_text(onnx_cell.markdown(cell))
            print(onnx_cell.markdown(cell))
        if not only or "payload" in only:
            payload = payload_cell.run(
                ours_bin=args.ours_bin,
                our_python=args.our_python,
                repo=REPO,
                work=pathlib.Path(tmp),
                plan=plan,
                server_core=SERVER_CORE,
                wrk_core=WRK_CORE,
            )
            payload["finished"] = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            (out_dir / "payload-latest.json").write_text(json.dumps(payload, indent=1) + "\n")
            (out_dir / "payload-latest.md").write_text(payload_cell.markdown(payload))
            print(payload_cell.markdown(payload))
        if not only or "startup" in only:
            startup = startup_cell.run(
                ours_bin=args.ours_bin,
                our_python=args.our_python,
                repo=REPO,
                work=pathlib.Path(tmp),
                runs=3 if quick else 6,
                server_core=SERVER_CORE,
            )
            startup["finished"] = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            (out_dir / "startup-latest.json").write_text(json.dumps(startup, indent=1) + "\n")
            (out_dir / "startup-latest.md").write_text(startup_cell.markdown(startup))
            print(startup_cell.markdown(startup))


def run(args: argparse.Namespace, *, plan: dict[str, Any], work: pathlib.Path) -> dict[str, Any]:
    # the same iris SVC as the tutorial's, trained by our examples/train.py with our sklearn
    subprocess.run(
        [args.our_python, str(REPO / "examples" / "train.py"), "--out", str(work / "models")],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    model_dir = work / "models" / "sklearn-iris"
    fleet = servers.define(
        ours_bin=args.ours_bin,
        our_python=args.our_python,
        kserve_venv=args.kserve_venv,
        mlserver_venv=args.mlserver_venv,
        model_dir=model_dir,
        work=work,
        repo=REPO,
    )
    if args.only:
        fleet = [s for s in fleet if s.name in args.only.split(",")]  # "onnx" names no server
    requests = load.bodies()
    for endpoint, (_, body, _) in requests.items():
        (work / f"{endpoint}.json").write_bytes(body)
    rounds: list[dict[str, Any]] = []
    problems: list[str] = []
    began = time.monotonic()
    for r in range(plan["rounds"]):
        print(f"bench: round {r + 1}/{plan['rounds']}", flush=True)
        order = fleet if r % 2 == 0 else fleet[::-1]
        rounds.append(one_round(order, plan=plan, work=work, requests=requests, problems=problems))
    summary = report.summarize(rounds)
    return {
        "meta": {
            **plan,
            "finished": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "wall_s": round(time.monotonic() - began, 1),
            "server_core": SERVER_CORE,
            "wrk_core": WRK_CORE,
            "noise_note": NOISE_NOTE,
            "niceness": os.getpriority(os.PRIO_PROCESS, 0),
            "order": [s.name for s in fleet],
            "versions": versions.collect(args, repo=REPO),
            "host": {
                "kernel": platform.release(),
                "cpu": versions.cpu_model(),
                "cores": os.cpu_count(),
            },
            "problems": problems,
        },
        "rounds": rounds,
        "summary": summary,
        "goals": report.goals(summary),
    }


def one_round(
    order: list[servers.Server],
    *,
    plan: dict[str, Any],
    work: pathlib.Path,
    requests: dict[str, tuple[str, bytes, list[int]]],
    problems: list[str],
) -> dict[str, Any]:
    """Starts every server (one at a time, for start→ready), then loads them cell by cell, the
    servers taking turns within each cell in alternating order, so drift favours no one."""
    running: dict[str, servers.Running] = {}
    results: dict[str, Any] = {}
    try:
        for server in order:
            try:
                running[server.name] = started = servers.start(
                    server, core=SERVER_CORE, log=work / f"{server.name}.log"
                )
                check_answers(started, requests)  # right answers first, or numbers mean nothing
            except RuntimeError as exc:
                if server.name in running:
                    servers.stop(running.pop(server.name).proc)
                problems.append(f"{server.name}: {exc}")
                print(f"bench: {server.name} left out: {exc}", file=sys.stderr, flush=True)
                continue
            results[server.name] = {
                "start_to_ready_s": started.start_to_ready_s,
                "cpu_to_ready_s": started.cpu_to_ready_s,
                "cells": {},
            }
        cells = [(e, c) for e in load.bodies() for c in plan["connections"]]
        for k, (endpoint, conns) in enumerate(cells):
            turn = [s for s in order if s.name in running and endpoint in s.endpoints]
            for server in turn if k % 2 == 0 else turn[::-1]:
                url = f"http://127.0.0.1:{server.port}{requests[endpoint][0]}"
                common = {
                    "url": url,
                    "body_file": work / f"{endpoint}.json",
                    "connections": conns,
                    "core": WRK_CORE,
                    "script": REPO / "bench" / "post.lua",
                }
                load.wrk(**common, seconds=plan["warmup_s"])  # unrecorded
                cpu_before = servers.cpu_seconds(running[server.name].proc.pid)
                stats = load.wrk(**common, seconds=plan["duration_s"])
                # CPU per request: what the server costs, whatever else shares its core
                cpu = servers.cpu_seconds(running[server.name].proc.pid) - cpu_before
                stats["cpu_us_per_req"] = cpu / max(stats["requests"], 1) * 1e6
                results[server.name]["cells"][f"{endpoint}@{conns}"] = stats
        for name, run_ in running.items():
            results[name]["memory"] = servers.memory_kib(run_.proc.pid)
    finally:
        for run_ in running.values():
            servers.stop(run_.proc)
    return results


def check_answers(
    running: servers.Running, requests: dict[str, tuple[str, bytes, list[int]]]
) -> None:
    for endpoint in running.server.endpoints:
        path, body, expected = requests[endpoint]
        status, answer = servers.post(running.server.port, path, body)
        wrong = load.check_answer(endpoint, status, answer, expected)
        if wrong:
            raise RuntimeError(f"wrong answer: {wrong}")


def write(result: dict[str, Any], *, out_dir: pathlib.Path, stamp: str) -> None:
    (out_dir / f"{stamp}.json").write_text(json.dumps(result, indent=1) + "\n")
    (out_dir / f"{stamp}.md").write_text(report.markdown(result))
    chart.draw(result["summary"], title=chart.title(result["meta"]), out=out_dir / f"{stamp}.png")
    for ext in ("json", "md", "png"):
        shutil.copyfile(out_dir / f"{stamp}.{ext}", out_dir / f"latest.{ext}")
    print((out_dir / f"{stamp}.md").read_text())
    print(f"bench: results in {out_dir}/{stamp}.{{json,md,png}} (and latest.*)")


if __name__ == "__main__":
    main()
