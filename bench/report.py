"""Rounds of raw wrk numbers → per-server medians, ratios within each round, goals, markdown."""

import statistics
from typing import Any

PEERS = ("kserve", "mlserver")
GOAL_CONNS = (16, 64)
GOAL_RPS_OF_CEILING = 0.8
GOAL_P99_OF_PEER = 0.4
GOAL_START_S = 1.0


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def summarize(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over rounds per server and cell; ratios taken within a round, then the median."""
    names = sorted({s for r in rounds for s in r})
    servers: dict[str, Any] = {}
    for name in names:
        runs = [r[name] for r in rounds if name in r and "cells" in r[name]]
        cells = sorted({c for run in runs for c in run["cells"]}, key=_cell_order)
        servers[name] = {
            "start_to_ready_s": _median([run["start_to_ready_s"] for run in runs]),
            "cpu_to_ready_s": _median([run.get("cpu_to_ready_s", 0.0) for run in runs]),
            "rss_mib": _median([run["memory"]["rss_kib"] / 1024 for run in runs]),
            "pss_mib": _median([run["memory"]["pss_kib"] / 1024 for run in runs]),
            "cells": {
                cell: {
                    "rps": _median([run["cells"][cell]["rps"] for run in runs]),
                    "p50_ms": _median([run["cells"][cell]["p50_us"] / 1000 for run in runs]),
                    "p99_ms": _median([run["cells"][cell]["p99_us"] / 1000 for run in runs]),
                    "cpu_us_per_req": _median(
                        [run["cells"][cell].get("cpu_us_per_req", 0.0) for run in runs]
                    ),
                    "errors": sum(run["cells"][cell]["errors"] for run in runs),
                    "requests": sum(run["cells"][cell]["requests"] for run in runs),
                }
                for cell in cells
            },
        }
    return {"servers": servers, "ratios": _ratios(rounds)}


def _cell_order(cell: str) -> tuple[str, int]:
    endpoint, conns = cell.split("@")
    return endpoint, int(conns)


def _ratios(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """For each server pair and cell: median over rounds of (a/b) req/s and (a/b) p99."""
    pairs = [("ours", "ceiling"), *[("ours", p) for p in PEERS], *[(p, "ceiling") for p in PEERS]]
    pairs += [("ours", "ours-asyncio"), ("ours-asyncio", "ceiling")]  # what uvloop is worth
    out: dict[str, Any] = {}
    for a, b in pairs:
        per_cell: dict[str, dict[str, list[float]]] = {}
        for r in rounds:
            if "cells" not in r.get(a, {}) or "cells" not in r.get(b, {}):
                continue
            for cell, sa in r[a]["cells"].items():
                sb = r[b]["cells"].get(cell)
                if sb is None or not sb["rps"] or not sb["p99_us"]:
                    continue
                acc = per_cell.setdefault(cell, {"rps": [], "p99": [], "cpu": []})
                acc["rps"].append(sa["rps"] / sb["rps"])
                acc["p99"].append(sa["p99_us"] / sb["p99_us"])
                if sa.get("cpu_us_per_req") and sb.get("cpu_us_per_req"):
                    acc["cpu"].append(sa["cpu_us_per_req"] / sb["cpu_us_per_req"])
        if per_cell:
            out[f"{a}/{b}"] = {
                cell: {k: _median(v[k]) for k in ("rps", "p99", "cpu")}
                for cell, v in sorted(per_cell.items(), key=lambda kv: _cell_order(kv[0]))
            }
    return out


def goals(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's goals, each with the measured value and whether it was met."""
    ratios, servers = summary["ratios"], summary["servers"]
    found: list[dict[str, Any]] = []
    for endpoint in ("v1-row", "v2-row"):
        for conns in GOAL_CONNS:
            cell = f"{endpoint}@{conns}"
            value = ratios.get("ours/ceiling", {}).get(cell, {}).get("rps")
            found.append(_goal(f"req/s {cell} ≥ 0.8x ceiling", value, GOAL_RPS_OF_CEILING, "≥"))
            # CPU-bound, req/s is 1/(CPU per request): ≥ 0.8x the ceiling's req/s on a core of
            # its own is ≤ 1.25x its CPU per request, which other work on the machine hardly moves
            value = ratios.get("ours/ceiling", {}).get(cell, {}).get("cpu")
            what = f"CPU/req {cell} ≤ 1.25x ceiling (load-independent proxy)"
            found.append(_goal(what, value, 1 / GOAL_RPS_OF_CEILING, "≤"))
            for peer in PEERS:
                value = ratios.get(f"ours/{peer}", {}).get(cell, {}).get("p99")
                if cell in servers.get(peer, {}).get("cells", {}):
                    found.append(_goal(f"p99 {cell} ≤ 0.4x {peer}", value, GOAL_P99_OF_PEER, "≤"))
    ours = servers.get("ours", {})
    found.append(_goal("start→ready ≤ 1 s", ours.get("start_to_ready_s"), GOAL_START_S, "≤"))
    # wall time stretches with other work on the machine; the CPU it took does much less so
    cpu = ours.get("cpu_to_ready_s")
    found.append(_goal("CPU s to ready ≤ 1 s (load-independent proxy)", cpu, GOAL_START_S, "≤"))
    rss_limit = servers.get("kserve", {}).get("rss_mib")
    found.append(_goal("RSS ≤ upstream KServe's (MiB)", ours.get("rss_mib"), rss_limit, "≤"))
    return found


def _goal(what: str, value: float | None, limit: float | None, op: str) -> dict[str, Any]:
    met = None
    if value is not None and limit is not None:
        met = value >= limit if op == "≥" else value <= limit
    return {"goal": what, "value": value, "limit": limit, "met": met}


def _fmt(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def markdown(result: dict[str, Any]) -> str:
    s, meta = result["summary"], result["meta"]
    lines = [
        f"# Benchmark {meta['finished']} ({meta['mode']})",
        "",
        f"{meta['rounds']} rounds; all servers run side by side and take turns per cell, in "
        f"alternating order; per cell {meta['warmup_s']} s "
        f"warm-up (unrecorded) then {meta['duration_s']} s of wrk, one thread, server pinned to "
        f"core {meta['server_core']} and wrk to core {meta['wrk_core']}, loopback in a private "
        f"network namespace, niceness {meta.get('niceness', 0)}. Values are medians over "
        "rounds; ratios are taken within a round, "
        "then the median. " + meta["noise_note"],
        "",
        "## Per server",
        "",
        "| server | start→ready s | CPU s to ready | RSS MiB | PSS MiB |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, srv in s["servers"].items():
        lines.append(
            f"| {name} | {_fmt(srv['start_to_ready_s'])} | {_fmt(srv['cpu_to_ready_s'])} "
            f"| {_fmt(srv['rss_mib'], 0)} "
            f"| {_fmt(srv['pss_mib'], 0)} |"
        )
    lines += [
        "",
        "## Throughput and latency",
        "",
        "| server | endpoint | conns | req/s | p50 ms | p99 ms | CPU µs/req | errors |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, srv in s["servers"].items():
        for cell, c in srv["cells"].items():
            endpoint, conns = cell.split("@")
            lines.append(
                f"| {name} | {endpoint} | {conns} | {c['rps']:.0f} | {_fmt(c['p50_ms'])} "
                f"| {_fmt(c['p99_ms'])} | {_fmt(c.get('cpu_us_per_req'), 0)} | {c['errors']} |"
            )
    lines += [
        "",
        "## Ratios a/b (req/s: higher is better for a; p99 and CPU/req: lower is better)",
        "",
        "| a/b | endpoint | conns | req/s ratio | p99 ratio | CPU/req ratio |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for pair, cells in s["ratios"].items():
        for cell, r in cells.items():
            endpoint, conns = cell.split("@")
            lines.append(
                f"| {pair} | {endpoint} | {conns} | {_fmt(r['rps'])} | {_fmt(r['p99'])} "
                f"| {_fmt(r.get('cpu'))} |"
            )
    lines += [
        "",
        "## Goals (ours)",
        "",
        "| goal | value | limit | met |",
        "| --- | ---: | ---: | --- |",
    ]
    for g in result["goals"]:
        met = {True: "yes", False: "**no**", None: "not measured"}[g["met"]]
        lines.append(f"| {g['goal']} | {_fmt(g['value'])} | {_fmt(g['limit'])} | {met} |")
    lines += ["", "## Versions", "", "| what | version |", "| --- | --- |"]
    for key, value in meta["versions"].items():
        lines.append(f"| {key} | {value} |")
    return "\n".join(lines) + "\n"
