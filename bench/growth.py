"""Growth: append latency and rebuild rate with 10k, 100k and 1M events already stored.

The stored events are COPYed in (events, command keys, outbox rows already sent) into a
database kept in the bench stack and reused while it holds the size; the appends then run
the intake workload with one client on top. The rebuild series rebuilds fixture topics of
each size (the largest size is the ``rebuild`` benchmark itself).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import UUID

import asyncpg

from bench.append import append_on
from bench.core import Context, Sample, benchmark, say
from bench.fixtures import intake_records
from bench.streaming import rebuild_of
from contracts.intake import TOPIC as INTAKE_TOPIC
from services.chassis.eventstore import install_schema
from services.chassis.projection import DbConnection

COPY_CHUNK = 50_000
SENT = datetime(2016, 1, 1, tzinfo=UTC)  # the stored events' outbox rows were published


def label(size: int) -> str:
    if size % 1_000_000 == 0:
        return f"{size // 1_000_000}M"
    if size % 1000 == 0:
        return f"{size // 1000}k"
    return str(size)


async def stored_database(ctx: Context, size: int) -> str:
    """The DSN of a database holding ``size`` stored intake events (made once, then reused)."""
    name = f"bench_growth_{size}"
    admin = await asyncpg.connect(ctx.stack.admin_dsn)
    try:
        exists = await admin.fetchval("SELECT true FROM pg_database WHERE datname = $1", name)
        if not exists:
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    dsn = ctx.stack.admin_dsn.rsplit("/", 1)[0] + "/" + name
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=1)
    try:
        await install_schema(pool)
        async with pool.acquire() as conn:
            stored = await conn.fetchval("SELECT count(*) FROM events")
            if stored < size:
                say(f"storing {size - stored:,} events into {name}")
                await _fill(conn, size - stored, seed=size + stored)
                # Settle the bulk load, so that its flush does not land on the appends.
                await conn.execute("VACUUM ANALYZE")
                await conn.execute("CHECKPOINT")
    finally:
        await pool.close()
    return dsn


async def _fill(conn: DbConnection, count: int, *, seed: int) -> None:
    events: list[tuple[object, ...]] = []
    keys: list[tuple[object, ...]] = []
    outbox: list[tuple[object, ...]] = []

    async def flush() -> None:
        await conn.copy_records_to_table(
            "events",
            records=events,
            columns=["stream_id", "version", "event_id", "type", "schema_version", "body"],
        )
        await conn.copy_records_to_table(
            "handled_commands",
            records=keys,
            columns=["idempotency_key", "stream_id", "first_version", "last_version"],
        )
        await conn.copy_records_to_table(
            "outbox",
            records=outbox,
            columns=["event_id", "topic", "key", "payload", "headers", "sent_at"],
        )
        events.clear()
        keys.clear()
        outbox.clear()

    for record in intake_records(count, seed=seed):
        headers = {k: v.decode() for k, v in record.headers}
        event_id, stream = UUID(headers["event_id"]), UUID(headers["case_id"])
        version = int(json.loads(record.value)["stream_version"])
        body = record.value.decode()
        schema_version = int(headers["schema_version"])
        events.append((stream, version, event_id, headers["type"], schema_version, body))
        keys.append((str(event_id), stream, version, version))
        outbox.append(
            (event_id, INTAKE_TOPIC, str(stream), record.value, json.dumps(headers), SENT)
        )
        if len(events) >= COPY_CHUNK:
            await flush()
    if events:
        await flush()


def register(sizes: Sequence[int], rebuild_size: int) -> None:
    """The growth benchmarks for these stored sizes (called once the sizes are known)."""
    for size in sizes:

        async def append_at(ctx: Context, size: int = size) -> Sample:
            return await append_on(ctx, await stored_database(ctx, size), "intake", 1)

        benchmark(
            f"growth.append.{label(size)}",
            "ours",
            f"intake append, 1 client, {size:,} events stored",
            "commands",
        )(append_at)
        if size < rebuild_size:

            async def rebuild_at(ctx: Context, size: int = size) -> Sample:
                return await rebuild_of(ctx, size)

            benchmark(
                f"growth.rebuild.{label(size)}", "ours", f"rebuild of {size:,} events", "events"
            )(rebuild_at)
