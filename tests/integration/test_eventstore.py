"""The PostgreSQL event store against the real server: concurrency, idempotency, atomicity."""

from __future__ import annotations

import asyncio
from datetime import date
from uuid import UUID, uuid4

import asyncpg
import pytest

from contracts.envelope import Agency, Envelope
from contracts.intake import TOPIC, FirstContactMade, IntakeEvent, intake_codec
from services.chassis.commands import run_command
from services.chassis.eventstore import (
    CommandContext,
    PostgresEventStore,
    VersionConflictError,
    install_schema,
)

pytestmark = pytest.mark.postgres


def context(key: str | None = None) -> CommandContext:
    return CommandContext(
        idempotency_key=key or str(uuid4()), agency=Agency.AA_MG, correlation_id=uuid4()
    )


def contact(day: int) -> FirstContactMade:
    return FirstContactMade(contacted_on=date(2016, 2, day))


@pytest.fixture
async def store(fresh_pool: asyncpg.Pool) -> PostgresEventStore[IntakeEvent]:
    await install_schema(fresh_pool)
    return PostgresEventStore(fresh_pool, TOPIC, intake_codec)


async def counts(pool: asyncpg.Pool) -> tuple[int, int, int]:
    row = await pool.fetchrow(
        "SELECT (SELECT count(*) FROM events) AS e, (SELECT count(*) FROM outbox) AS o,"
        " (SELECT count(*) FROM handled_commands) AS c"
    )
    assert row is not None
    return row["e"], row["o"], row["c"]


async def test_append_at_a_stale_version_conflicts_and_stores_nothing(
    store: PostgresEventStore[IntakeEvent], fresh_pool: asyncpg.Pool
) -> None:
    """A second append at the same expected version fails typed; no event, outbox or key row."""
    stream = uuid4()
    await store.append(stream, 0, [contact(1)], context())

    with pytest.raises(VersionConflictError):
        await store.append(stream, 0, [contact(2)], context())

    assert await counts(fresh_pool) == (1, 1, 1)
    assert [e.data for e in await store.load(stream)] == [contact(1)]


async def test_same_idempotency_key_appends_once(
    store: PostgresEventStore[IntakeEvent], fresh_pool: asyncpg.Pool
) -> None:
    """Repeating a command with its key reports the first outcome and appends nothing."""
    stream = uuid4()
    first = await run_command(store, stream, lambda _: [contact(1)], context("key-0001"))
    again = await run_command(store, stream, lambda _: [contact(1)], context("key-0001"))

    assert (first.replayed, again.replayed) == (False, True)
    assert (again.stream_id, again.last_version) == (stream, 1)
    assert await counts(fresh_pool) == (1, 1, 1)


async def test_concurrent_twins_of_one_command_append_once(
    store: PostgresEventStore[IntakeEvent], fresh_pool: asyncpg.Pool
) -> None:
    """Eight copies of one command racing each other produce one event."""
    stream = uuid4()
    results = await asyncio.gather(
        *(run_command(store, stream, lambda _: [contact(1)], context("twin-key")) for _ in range(8))
    )

    assert sum(not r.replayed for r in results) == 1
    assert await counts(fresh_pool) == (1, 1, 1)


async def test_concurrent_writers_are_retried_until_every_command_lands(
    store: PostgresEventStore[IntakeEvent],
) -> None:
    """Eight different commands on one stream all land, each version written once."""
    stream = uuid4()

    def one_more(history: list[Envelope[IntakeEvent]]) -> list[IntakeEvent]:
        return [contact(len(history) + 1)]

    await asyncio.gather(*(run_command(store, stream, one_more, context()) for _ in range(8)))

    history = await store.load(stream)
    assert [e.stream_version for e in history] == list(range(1, 9))
    assert [e.data for e in history] == [contact(day) for day in range(1, 9)]


async def test_refused_command_leaves_no_trace(
    store: PostgresEventStore[IntakeEvent], fresh_pool: asyncpg.Pool
) -> None:
    """When decide refuses, neither events nor outbox rows nor the command key are stored."""

    def refuse(_: object) -> list[IntakeEvent]:
        raise ValueError("refused")

    with pytest.raises(ValueError, match="refused"):
        await run_command(store, uuid4(), refuse, context())

    assert await counts(fresh_pool) == (0, 0, 0)


async def test_outbox_row_carries_the_envelope_and_headers(
    store: PostgresEventStore[IntakeEvent], fresh_pool: asyncpg.Pool
) -> None:
    """The outbox row written with the event holds its exact JSON, key and event id header."""
    stream = uuid4()
    await store.append(stream, 0, [contact(3)], context())

    row = await fresh_pool.fetchrow("SELECT topic, key, payload, headers FROM outbox")
    assert row is not None
    envelope = intake_codec.parse(bytes(row["payload"]))
    assert (row["topic"], UUID(row["key"])) == (TOPIC, stream)
    assert envelope.data == contact(3)
    assert f'"event_id": "{envelope.event_id}"' in row["headers"]
