"""Running the host's commands (ip, iptables, ctr, kubectl) and waiting for conditions."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Sequence

from devcluster.procs import Process


class ClusterError(RuntimeError):
    """A step of up/down failed: the message says which, and where its log is."""


def run(args: Sequence[str], *, check: bool = True, stdin: str | None = None) -> str:
    """Runs a command and returns its stdout; a failure raises ClusterError with its stderr.
    Unchecked, a missing or failing command gives what it printed (maybe nothing)."""
    try:
        done = subprocess.run(
            list(args), input=stdin, capture_output=True, text=True, check=False, timeout=300
        )
    except FileNotFoundError as err:
        if check:
            raise ClusterError(f"{args[0]} is not installed") from err
        return ""
    if check and done.returncode != 0:
        raise ClusterError(
            f"{' '.join(args[:3])} ... failed ({done.returncode}): {done.stderr.strip()[-600:]}"
        )
    return done.stdout


def ok(args: Sequence[str]) -> bool:
    """True if the command exits 0 (its output is dropped)."""
    try:
        done = subprocess.run(list(args), capture_output=True, check=False, timeout=60)
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def wait_for(
    what: str, seconds: float, done: Callable[[], bool], *, alive: Process | None = None
) -> None:
    """Polls `done` until it holds; fails at once (with its log) if `alive` exits meanwhile."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if done():
            return
        if alive is not None and not alive.alive():
            raise ClusterError(f"{alive.name} exited (log: {alive.log}):\n{alive.tail(15)}")
        time.sleep(0.25)
    raise ClusterError(f"timed out after {seconds:.0f}s waiting for {what}")
