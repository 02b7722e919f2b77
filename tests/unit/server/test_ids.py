"""Generated response ids: uuid4 form, distinct within a process and across processes."""

from __future__ import annotations

import subprocess
import sys
import uuid

from kserve_server import ids


def test_ids_are_uuid4_strings() -> None:
    for value in (ids.new_id() for _ in range(100)):
        parsed = uuid.UUID(value)
        assert str(parsed) == value
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122


def test_ids_do_not_repeat_in_a_process() -> None:
    assert len({ids.new_id() for _ in range(10_000)}) == 10_000


def test_ids_differ_between_processes() -> None:
    code = "from kserve_server import ids; print(ids.new_id())"
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.strip()
        for _ in range(2)
    }
    assert len(outputs) == 2
    assert ids.new_id() not in outputs
