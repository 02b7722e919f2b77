"""The run's results file: one Markdown table, one row per scenario, appended as each ends.

    bench/results/chaos-<UTC time>.md     (CHAOS_RESULTS_DIR: another directory)

Columns: scenario, failed/total requests (with the failures by kind), added p50/p99 latency
(after the fault minus before it), time to recover, notes. The README's "Reliability" section
quotes the latest file.
"""

from __future__ import annotations

import datetime
import subprocess
from dataclasses import dataclass
from pathlib import Path

from chaos_load import Summary

REPO = Path(__file__).resolve().parents[2]
HEADER = (
    "| scenario | failed / total | added p50 / p99 | recovery | notes |\n|---|---|---|---|---|\n"
)


def ms(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds * 1000:+.1f} ms"


def secs(seconds: float | None) -> str:
    return "never" if seconds is None else f"{seconds:.1f} s"


def row(scenario: str, summary: Summary | None, *, notes: str = "") -> str:
    """One table row; `summary` None for a scenario that sends no load (notes say what)."""
    cells = [scenario.replace("|", "/")]
    if summary is None:
        cells += ["n/a", "n/a", "n/a"]
    else:
        failed = f"{summary.failed:,} / {summary.total:,}"
        if summary.failed:
            failed += f" ({summary.failures()})"
        cells += [
            failed,
            f"{ms(summary.added_p50)} / {ms(summary.added_p99)}",
            secs(summary.recovery),
        ]
    cells.append(notes.replace("|", "/").replace("\n", " "))
    return "| " + " | ".join(cells) + " |\n"


def commit() -> str:
    out = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    return out.stdout.strip() or "unknown"


@dataclass
class ResultsFile:
    path: Path
    title: str

    @classmethod
    def new(
        cls, directory: Path, *, now: datetime.datetime | None = None, only: str = ""
    ) -> ResultsFile:
        """`only`: the selection a partial run made (said in the title)."""
        stamp = (now or datetime.datetime.now(datetime.UTC)).strftime("%Y%m%dT%H%M%SZ")
        title = f"Chaos suite, {stamp} (commit {commit()}{f'; only {only}' if only else ''})"
        return cls(path=directory / f"chaos-{stamp}.md", title=title)

    def add(self, scenario: str, summary: Summary | None, *, notes: str = "") -> str:
        """Append a row (the title and header first, on the first row); returns the row."""
        line = row(scenario, summary, notes=notes)
        if not self.path.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(f"# {self.title}\n\n{HEADER}")
        with self.path.open("a") as out:
            out.write(line)
        return line
