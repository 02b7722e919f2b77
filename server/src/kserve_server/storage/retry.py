"""Bounded retries with exponential backoff and jitter, for TransientError failures only."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

from kserve_server.storage.errors import TransientError

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_DELAY = 8.0


async def retrying(
    attempt: Callable[[], Awaitable[T]], *, what: str, attempts: int, base_delay: float
) -> T:
    """Run `attempt` until it succeeds, raises a permanent error, or `attempts` run out."""
    for number in range(1, attempts + 1):
        try:
            return await attempt()
        except TransientError as err:
            if number == attempts:
                raise TransientError(f"{err} (gave up after {attempts} attempts)") from err
            # Jitter keeps many pods restarting together from hammering the store in step.
            delay = min(MAX_DELAY, base_delay * 2 ** (number - 1)) * random.uniform(0.5, 1.0)
            log.warning("%s: %s; retry %d/%d in %.1fs", what, err, number, attempts - 1, delay)
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")
