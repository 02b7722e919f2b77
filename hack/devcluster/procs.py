"""Starting and stopping the control plane's processes.

Attached processes die with the Python process that started them (a killed pytest leaves no
etcd behind); detached ones outlive it, found again through their pid file (`make cluster-up`
returns while the cluster runs, `make cluster-down` stops it).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

STOP_TIMEOUT = 15.0


@dataclass
class Process:
    name: str
    args: list[str]
    log: Path
    pidfile: Path | None = None  # set: detached, in its own session, pid written here
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self, *, append: bool = False) -> None:
        """Starts the process with a fresh log (logs outlive the cluster and a check for a line
        must not find the last run's), or appending to it, as a restart does."""
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab" if append else "wb") as out:
            self._proc = subprocess.Popen(
                self.args,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=self.pidfile is not None,
                preexec_fn=None if self.pidfile else _die_with_parent,  # noqa: PLW1509
            )
        if self.pidfile is not None:
            self.pidfile.parent.mkdir(parents=True, exist_ok=True)
            self.pidfile.write_text(f"{self._proc.pid}\n")

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else self._pid_from_file()

    def alive(self) -> bool:
        if self._proc is not None:
            return self._proc.poll() is None
        pid = self._pid_from_file()
        return pid is not None and _exists(pid)

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """TERM, then KILL after `timeout`. Safe to call when it is not running."""
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.terminate()
                try:
                    self._proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait(timeout)
        elif (pid := self._pid_from_file()) is not None:
            _stop_pid(pid, timeout)
        if self.pidfile is not None:
            self.pidfile.unlink(missing_ok=True)

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def _pid_from_file(self) -> int | None:
        try:
            return int(self.pidfile.read_text().strip()) if self.pidfile else None
        except (OSError, ValueError):
            return None


def _die_with_parent() -> None:
    # The kernel sends SIGKILL when the parent dies: no stray servers after a killed pytest.
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGKILL)


def _exists(pid: int) -> bool:
    """Running: a zombie (exited, its parent has not reaped it yet) is not."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


def _stop_pid(pid: int, timeout: float) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _exists(pid):
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
