"""Response ids in uuid4 form, cheaply: a random per-process prefix and a counter.

Upstream answers a V2 request without an `id` with a fresh uuid4. `uuid.uuid4()` reads the OS
random source on every call, a measurable share of a small request; these ids have the same
36-character form (version and variant bits set), are unique within the process (a 48-bit
counter) and across processes (74 random bits of prefix, drawn again in a forked child).
"""

from __future__ import annotations

import itertools
import os
import uuid


class _Ids:
    def __init__(self) -> None:
        self.reseed()

    def reseed(self) -> None:
        self.prefix = str(uuid.uuid4())[:24]  # "xxxxxxxx-xxxx-4xxx-yxxx-": version, variant kept
        self.counter = itertools.count(int.from_bytes(os.urandom(6)))

    def new(self) -> str:
        return f"{self.prefix}{next(self.counter) & 0xFFFFFFFFFFFF:012x}"


_ids = _Ids()
os.register_at_fork(after_in_child=_ids.reseed)
new_id = _ids.new
