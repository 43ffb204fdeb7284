"""Rebuilding a view from the topics into a fresh generation, then swapping it in.

The topics keep every event, so a view is a pure function of them: the rebuild consumes from
the beginning (a consumer group of its own) until it reaches the end offsets it saw when it
started, compares the result with the live generation, and swaps the pointer. The live
process moves over within a second and carries on from the positions the rebuild stored.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import asyncpg
from aiokafka import TopicPartition
from prometheus_client import Gauge

from services.chassis import generations
from services.chassis.kafka import KafkaAccess
from services.chassis.offsets import topic_bounds
from services.chassis.projection import ProjectionRunner

REBUILD_PROGRESS = Gauge(
    "ip_rebuild_progress_ratio", "Share of the events a running rebuild has applied", ["view"]
)

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Difference:
    table: str
    only_live: int
    only_rebuilt: int


async def _applied(pool: asyncpg.Pool, bounds: dict[TopicPartition, tuple[int, int]]) -> int:
    rows = await pool.fetch('SELECT topic, "partition", "offset" FROM projection_positions')
    stored = {TopicPartition(r["topic"], r["partition"]): r["offset"] for r in rows}
    return sum(
        min(stored.get(tp, begin - 1) + 1, end) - begin for tp, (begin, end) in bounds.items()
    )


async def rebuild(
    *,
    view: str,
    dsn: str,
    kafka: KafkaAccess,
    topics: Sequence[str],
    install: Callable[[asyncpg.Pool], Awaitable[None]],
    make_runner: Callable[[asyncpg.Pool, str], ProjectionRunner],
    progress: Progress,
) -> str:
    """Fill a fresh generation up to today's end offsets; returns its name (not yet active)."""
    generation = generations.checked(f"g{time.strftime('%Y%m%d%H%M%S')}")
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f"CREATE SCHEMA {generation}")
    finally:
        await conn.close()
    pool = await generations.open_pool(dsn, generation)
    try:
        await install(pool)
        bounds = await topic_bounds(kafka, topics)
        total = sum(end - begin for begin, end in bounds.values())
        stop = asyncio.Event()
        runner = make_runner(pool, f"projection.{view}.rebuild.{generation}")
        task = asyncio.create_task(runner.run(stop))
        try:
            while (done := await _applied(pool, bounds)) < total:
                if task.done():
                    task.result()  # the runner failed: say why
                REBUILD_PROGRESS.labels(view).set(done / total)
                progress(done, total)
                await asyncio.sleep(0.3)
        finally:
            stop.set()
            await task
        REBUILD_PROGRESS.labels(view).set(1.0)
        progress(total, total)
    finally:
        await pool.close()
    return generation


async def compare(dsn: str, live: str, rebuilt: str, tables: Sequence[str]) -> list[Difference]:
    """Rows that only one of the two generations holds, per view table."""
    conn = await asyncpg.connect(dsn)
    try:
        differences = []
        for table in tables:
            live_table = f"{generations.checked(live)}.{generations.checked(table)}"
            rebuilt_table = f"{generations.checked(rebuilt)}.{generations.checked(table)}"
            # Identifiers, checked above; values never come into these statements.
            only_live = await conn.fetchval(_except_count(live_table, rebuilt_table))
            only_rebuilt = await conn.fetchval(_except_count(rebuilt_table, live_table))
            if only_live or only_rebuilt:
                differences.append(Difference(table, only_live, only_rebuilt))
        return differences
    finally:
        await conn.close()


def _except_count(left: str, right: str) -> str:
    # Identifiers only, checked by the caller; no value ever enters the statement.
    return f"SELECT count(*) FROM (TABLE {left} EXCEPT TABLE {right}) x"  # noqa: S608


def bar(done: int, total: int, width: int = 30, unit: str = "events") -> str:
    """A text progress bar: [#########.....]  64%  6400/10000 events."""
    share = done / total if total else 1.0
    filled = round(share * width)
    return f"[{'#' * filled}{'.' * (width - filled)}] {share:4.0%}  {done}/{total} {unit}"
