"""`make chaos` with CHAOS_SCENARIOS runs only the scenarios named (tests/chaos/conftest.py):
pytest collects the fault suite (no cluster needed for that) and deselects the rest."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def collect(selection: str | None, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CHAOS_SCENARIOS"}
    if selection is not None:
        env["CHAOS_SCENARIOS"] = selection
    return subprocess.run(
        [sys.executable, "-m", "pytest", "tests/chaos", "--collect-only", "-q",
         "-p", "no:cacheprovider", *args],
        cwd=REPO, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip


def collected(done: subprocess.CompletedProcess[str]) -> list[str]:
    return sorted(line.split("::")[0].rsplit("/", 1)[-1] for line in done.stdout.splitlines()
                  if "::" in line)  # fmt: skip


def test_every_scenario_numbered_once() -> None:
    numbers = {
        path.name: re.findall(r"^SCENARIO = (\d+)", path.read_text(), re.M)
        for path in (REPO / "tests" / "chaos").glob("test_*.py")
    }
    assert sorted(int(n) for found in numbers.values() for n in found) == list(range(1, 9))
    assert all(len(found) == 1 for found in numbers.values()), numbers


def test_the_selection_keeps_only_those_and_combines_with_the_short_marker() -> None:
    assert collected(collect("5, 8")) == ["test_node_restart.py", "test_soak.py"]
    assert collected(collect("1 5", "-m", "short")) == ["test_rollout.py"]


def test_a_number_that_is_no_scenario_is_refused() -> None:
    done = collect("9")
    assert done.returncode != 0
    assert "CHAOS_SCENARIOS='9': numbers of scenarios, 1 to 8" in done.stderr
