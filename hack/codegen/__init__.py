"""`make generate` (`python -m codegen`): every file this repository generates from another.

Tooling, never shipped: the deliverables' packages hold only what they run.
"""

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


class GenerateError(Exception):
    """A generator cannot run (a tool is missing, an input is unusable): the message says why."""
