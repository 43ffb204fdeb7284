"""Waiting out a broker that is not there yet: start Kafka clients with backoff.

A process that starts while the broker restarts (or is slow under load) keeps trying
instead of ending: a projection task that ended would leave its view answering 503 until
someone restarts the process.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import suppress

import structlog
from aiokafka.errors import KafkaError

log = structlog.get_logger("backoff")

# Failures of a client start that say the broker is unreachable, not that we are wrong.
UNREACHABLE = (KafkaError, OSError, TimeoutError)
FIRST_DELAY = 0.2  # seconds, doubled per failure
MAX_DELAY = 5.0


async def pause(stop: asyncio.Event | None, seconds: float) -> None:
    """Sleep ``seconds``, or less when ``stop`` is set meanwhile."""
    if stop is None:
        await asyncio.sleep(seconds)
        return
    with suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


def delay(failures: int) -> float:
    """The wait after the ``failures``-th failure in a row."""
    return float(min(FIRST_DELAY * 2 ** max(failures - 1, 0), MAX_DELAY))


async def until_started(
    start: Callable[[], Awaitable[object]], *, what: str, stop: asyncio.Event | None = None
) -> bool:
    """Call ``start`` until it succeeds; False when ``stop`` was set first."""
    failures = 0
    while stop is None or not stop.is_set():
        try:
            await start()
        except UNREACHABLE as error:
            failures += 1
            log.warning("kafka.start_retrying", client=what, failures=failures, error=repr(error))
            await pause(stop, delay(failures))
            continue
        if failures:
            log.info("kafka.started_after_retries", client=what, failures=failures)
        return True
    return False
