"""The README's chart: req/s and p99 per server and endpoint (grouped bars), from a summary."""

import pathlib
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

ORDER = ("ours", "ours-asyncio", "ceiling", "kserve", "mlserver")
COLORS = {
    "ours": "#1f77b4",
    "ours-asyncio": "#aec7e8",
    "ceiling": "#7f7f7f",
    "kserve": "#ff7f0e",
    "mlserver": "#2ca02c",
}
LABELS = {
    "ours": "ours",
    "ours-asyncio": "ours, --event-loop asyncio",
    "ceiling": "bare aiohttp (ceiling)",
    "kserve": "upstream KServe 0.21",
    "mlserver": "MLServer 1.7",
}


def title(meta: dict[str, Any]) -> str:
    return f"iris SVC, one worker each, {meta['finished']} ({meta['mode']} run, medians)"


def draw(summary: dict[str, Any], *, title: str, out: pathlib.Path) -> None:
    servers = {n: summary["servers"][n] for n in ORDER if n in summary["servers"]}
    cells: list[str] = []
    for srv in servers.values():
        cells += [c for c in srv["cells"] if c not in cells]
    cells.sort(key=lambda c: (c.split("@")[0], int(c.split("@")[1])))
    fig, (top, middle, bottom) = plt.subplots(3, 1, figsize=(13, 11), sharex=True)
    width = 0.8 / max(len(servers), 1)
    for i, (name, srv) in enumerate(servers.items()):
        xs = [k + (i - (len(servers) - 1) / 2) * width for k in range(len(cells))]
        rps = [srv["cells"].get(c, {}).get("rps") or 0 for c in cells]
        p99 = [srv["cells"].get(c, {}).get("p99_ms") or 0 for c in cells]
        cpu = [srv["cells"].get(c, {}).get("cpu_us_per_req") or 0 for c in cells]
        top.bar(xs, rps, width, label=LABELS[name], color=COLORS[name])
        middle.bar(xs, p99, width, color=COLORS[name])
        bottom.bar(xs, cpu, width, color=COLORS[name])
    top.set_ylabel("requests / s (higher is better)")
    middle.set_ylabel("p99 latency, ms, log (lower is better)")
    middle.set_yscale("log")
    bottom.set_ylabel("server CPU µs per request\n(lower is better)")
    bottom.set_xticks(range(len(cells)))
    bottom.set_xticklabels([c.replace("@", "\n") + " conns" for c in cells], fontsize=8)
    fig.suptitle(title)
    fig.legend(loc="upper center", bbox_to_anchor=(0.5, 0.965), ncol=len(servers), frameon=False)
    for ax in (top, middle, bottom):
        ax.grid(axis="y", alpha=0.3)
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main() -> None:
    """`python -m bench.chart RESULT.json`: redraws RESULT.png from a saved run."""
    import json
    import sys

    path = pathlib.Path(sys.argv[1])
    result = json.loads(path.read_text())
    draw(result["summary"], title=title(result["meta"]), out=path.with_suffix(".png"))


if __name__ == "__main__":
    main()
