"""The projection runner: Kafka in, view rows out, with exactly-once effect.

Each batch is applied in one PostgreSQL transaction together with the consumed positions;
on assignment the consumer seeks to the stored positions, so Kafka's own committed offsets
are only a lag gauge for operators. Events already applied (the relay is at-least-once)
are skipped by ``event_id``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from importlib import resources
from typing import Protocol, TypeAlias
from uuid import UUID

import asyncpg
import httpx
import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError
from aiokafka.structs import ConsumerRecord
from asyncpg.pool import PoolConnectionProxy
from opentelemetry import propagate, trace

from contracts.topics import DEAD_LETTER_TOPIC
from services.chassis.backoff import delay, pause, until_started
from services.chassis.eventstore import SCHEMA_LOCK
from services.chassis.ids import uuid7
from services.chassis.kafka import KafkaAccess
from services.chassis.metrics import APPLIED, CONSUMER_LAG, DEAD_LETTERS
from services.chassis.parking import CaseParking
from services.chassis.relay import OutboxRelay, create_producer

log = structlog.get_logger("projection")
tracer = trace.get_tracer("services.chassis.projection")

DbConnection: TypeAlias = asyncpg.Connection | PoolConnectionProxy  # a handler gets either

# Failures that say nothing about the message: retry the batch, never park it.
TRANSIENT_ERRORS = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.SerializationError,
    httpx.TransportError,
    httpx.HTTPStatusError,
    KafkaError,
)

KAFKA_COMMIT_INTERVAL = 5.0  # seconds; Kafka offsets only feed the lag gauge
POISON_ATTEMPTS = 3  # tries of an event that keeps failing before it is parked
POISON_BACKOFF = 0.05  # seconds, doubled per try
# getmany returns on the first record: without a linger a view under moderate load applies
# one event per transaction. A poll that found records waits this long for more, so a burst
# becomes one batch (one transaction, one commit); an idle poll waits for nothing extra.
LINGER = 0.005  # seconds


@dataclass(frozen=True)
class ConsumedEvent:
    """One Kafka record as a projection sees it."""

    topic: str
    partition: int
    offset: int
    key: str
    value: bytes
    headers: dict[str, str]

    @property
    def event_id(self) -> UUID | None:
        raw = self.headers.get("event_id")
        try:
            return UUID(raw) if raw else None
        except ValueError:
            return None


def keyed_cases(events: Sequence[ConsumedEvent]) -> set[UUID]:
    """The cases of events keyed by case id (a key that is none names no case): what a
    handler reads for a batch at once."""
    cases = set()
    for event in events:
        with suppress(ValueError):
            cases.add(UUID(event.key))
    return cases


class ProjectionHandler(Protocol):
    """Turns events into view rows, inside the runner's transaction.

    A handler may keep its writes back and write a whole batch's at once (a round trip per
    event is what bounds a catch-up or a rebuild): ``flush`` writes them before the runner
    stores the batch's positions, in the same transaction.
    """

    async def start_batch(self, conn: DbConnection, events: Sequence[ConsumedEvent]) -> None:
        """Called in each batch's transaction before its first event (also on a retry), with
        all of the batch's events (some may be skipped: duplicates, parked cases)."""

    async def apply(self, conn: DbConnection, event: ConsumedEvent) -> None: ...

    async def flush(self, conn: DbConnection) -> None:
        """Write what ``apply`` kept back: after the batch's last event; when the runner
        isolates a poison message, after each event, inside that event's savepoint."""

    def drop_unflushed(self) -> None:
        """The event under way failed and its savepoint took back its rows: forget what it
        left in memory, and anything read from the database since the last ``flush``."""


class WritesAsItApplies:
    """For a handler that keeps nothing back: nothing to flush or to drop."""

    async def flush(self, conn: DbConnection) -> None:
        """Everything is written already."""

    def drop_unflushed(self) -> None:
        """Nothing is kept back."""


async def install_projection_schema(pool: asyncpg.Pool, view_sql: str) -> None:
    """Create the runner's bookkeeping tables and the view's own tables (idempotent)."""
    chassis = resources.files("services.chassis")
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", SCHEMA_LOCK)
        for name in ("projection.sql", "parking.sql", "outbox.sql"):  # outbox: dead letters
            await conn.execute(chassis.joinpath(name).read_text())
        await conn.execute(view_sql)


class _SeekToStoredPositions(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, runner: ProjectionRunner) -> None:
        self._runner = runner

    async def on_partitions_revoked(self, revoked: Sequence[TopicPartition]) -> None:
        """Nothing to flush: every applied batch already stored its positions."""

    async def on_partitions_assigned(self, assigned: Sequence[TopicPartition]) -> None:
        await self._runner.seek_to_stored(assigned)


class ProjectionRunner:
    """Consumes ``topics`` as consumer group ``group_id`` and applies them with ``handler``."""

    def __init__(
        self,
        *,
        name: str,
        pool: asyncpg.Pool,
        kafka: KafkaAccess,
        topics: Sequence[str],
        group_id: str,
        handler: ProjectionHandler,
        max_batch: int = 1000,
    ) -> None:
        self.name = name
        self._pool = pool
        self._topics = list(topics)
        self._handler = handler
        self._max_batch = max_batch
        self._kafka = kafka
        self._group_id = group_id
        # Made by ``run``: a runner only handed batches (a fold, a test) has no Kafka clients
        # to leave unclosed.
        self._consumer: AIOKafkaConsumer
        self._dead_letters: OutboxRelay
        self._parking = CaseParking()
        self.applied = 0
        self.parked = 0

    async def seek_to_stored(self, assigned: Sequence[TopicPartition]) -> None:
        rows = await self._pool.fetch(
            'SELECT topic, "partition", "offset" FROM projection_positions'
            " WHERE topic = ANY($1::text[])",
            self._topics,
        )
        stored = {TopicPartition(r["topic"], r["partition"]): r["offset"] for r in rows}
        for partition in assigned:
            if partition in stored:
                self._consumer.seek(partition, stored[partition] + 1)
            else:
                await self._consumer.seek_to_beginning(partition)
        log.info("projection.assigned", projection=self.name, partitions=len(assigned))

    async def run(self, stop: asyncio.Event) -> None:
        """Consume until ``stop`` is set; transient failures re-read from the stored positions.

        A broker that is down at start or restarts meanwhile is waited for (with backoff):
        the task ends only when ``stop`` is set.
        """
        self._consumer = AIOKafkaConsumer(
            **self._kafka.client_kwargs(),
            group_id=self._group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            max_poll_records=self._max_batch,
        )
        self._dead_letters = OutboxRelay(self._pool, create_producer(self._kafka))
        self._consumer.subscribe(self._topics, listener=_SeekToStoredPositions(self))
        what = f"projection {self.name}"
        if not await until_started(self._consumer.start, what=what, stop=stop):
            return
        try:
            if not await until_started(self._dead_letters.start, what=what, stop=stop):
                return
            await self._consume(stop)
        finally:
            await self._consumer.stop()
            await self._dead_letters.stop()

    async def _consume(self, stop: asyncio.Event) -> None:
        last_commit = time.monotonic()
        failures = 0
        parked_before_crash = True
        while not stop.is_set():
            try:
                if parked_before_crash:
                    await self._dead_letters.publish_pending()
                    parked_before_crash = False
                await self._step()
                if time.monotonic() - last_commit > KAFKA_COMMIT_INTERVAL:
                    last_commit = time.monotonic()
                    await self._commit_for_lag()
                failures = 0
            except TRANSIENT_ERRORS as error:
                failures += 1
                log.warning("projection.retrying", projection=self.name, error=repr(error))
                await pause(stop, delay(failures))
                with suppress(*TRANSIENT_ERRORS):  # mid-rebalance: the listener seeks instead
                    await self.seek_to_stored(list(self._consumer.assignment()))

    async def _step(self) -> None:
        """One poll: apply what came, publish what it parked."""
        batches = await self._consumer.getmany(timeout_ms=200, max_records=self._max_batch)
        records = [record for part in batches.values() for record in part]
        if not records:
            return
        if len(records) < self._max_batch:
            await asyncio.sleep(LINGER)
            more = await self._consumer.getmany(
                timeout_ms=0, max_records=self._max_batch - len(records)
            )
            # Appended after the first poll's: each partition's records stay in order.
            records += [record for part in more.values() for record in part]
        if await self.apply_batch([_consumed(record) for record in records]):
            await self._dead_letters.publish_pending()
        self._measure_lag(records)

    async def _commit_for_lag(self) -> None:
        """Commit to Kafka, which only feeds the lag tools: the positions that count are
        stored with the rows. A commit refused because the group rebalanced meanwhile (a
        loaded machine missing a heartbeat is enough) is no reason to stop projecting: the
        reassignment seeks to the stored positions again."""
        try:
            await self._consumer.commit()
        except CommitFailedError as error:
            log.warning("projection.commit_skipped", projection=self.name, error=repr(error))

    def _measure_lag(self, records: Sequence[ConsumerRecord[bytes, bytes]]) -> None:
        last = {TopicPartition(r.topic, r.partition): r.offset for r in records}
        for partition, offset in last.items():
            end = self._consumer.highwater(partition)
            if end is not None:
                CONSUMER_LAG.labels(self.name, partition.topic, str(partition.partition)).set(
                    max(end - offset - 1, 0)
                )

    async def apply_batch(self, events: Sequence[ConsumedEvent]) -> int:
        """Apply new events and store the batch's positions, all in one transaction.

        Returns how many events were parked. A batch is first tried whole; only when an event
        in it fails is it applied again one savepoint per event, so that the poison is parked
        on the dead-letter topic (through the outbox, in the same transaction) and the rest
        applies: the fast path pays nothing for the slow one.
        """
        try:
            return await self._apply(events, isolate=False)
        except TRANSIENT_ERRORS:
            raise
        except Exception:  # noqa: BLE001  # any other failure: find and park the poison
            return await self._apply(events, isolate=True)

    async def _apply(self, events: Sequence[ConsumedEvent], *, isolate: bool) -> int:
        positions: dict[tuple[str, int], int] = {}
        parked = 0
        async with self._pool.acquire() as conn, conn.transaction():
            await self._handler.start_batch(conn, events)
            fresh = await _claim_event_ids(conn, [e.event_id for e in events if e.event_id])
            blocked = await self._parking.held(conn, {e.key for e in events})
            for event in events:
                positions[(event.topic, event.partition)] = event.offset
                if event.event_id is None:
                    await self._park(conn, event, "no valid event_id header")
                    parked += 1
                    continue
                if event.event_id not in fresh:
                    continue
                fresh.discard(event.event_id)  # a duplicate within the batch applies once
                if event.key in blocked and not await self._parking.releases(
                    conn, event.key, event.event_id, event.headers, blocked
                ):
                    await self._park(conn, event, f"behind parked {blocked[event.key]}")
                    parked += 1
                    continue
                if not isolate:
                    await self._apply_one(conn, event)
                    continue
                reason = await self._apply_with_retries(conn, event)
                if reason is not None:
                    await self._park(conn, event, reason)
                    await self._parking.hold(conn, event.key, event.event_id)
                    blocked.setdefault(event.key, str(event.event_id))
                    parked += 1
            if not isolate:
                await self._handler.flush(conn)
            # A stored position never goes back: a rebalance's seek reads the positions while
            # a batch may still be applying, so records the batch applies can come again, and
            # a batch of only those must not move the position before events it holds (a
            # view's history read ends there).
            await conn.executemany(
                'INSERT INTO projection_positions (topic, "partition", "offset")'
                ' VALUES ($1, $2, $3) ON CONFLICT (topic, "partition") DO UPDATE'
                ' SET "offset" = GREATEST(projection_positions."offset", excluded."offset")',
                [(topic, part, offset) for (topic, part), offset in positions.items()],
            )
        self.parked += parked
        return parked

    async def _apply_with_retries(self, conn: DbConnection, event: ConsumedEvent) -> str | None:
        """Try a failing event a bounded number of times, with backoff, each in a savepoint;
        the reason of the last failure when it never succeeds."""
        reason = ""
        for attempt in range(POISON_ATTEMPTS):
            try:
                async with conn.transaction():  # a savepoint: a failed try leaves no rows
                    await self._apply_one(conn, event)
                    await self._handler.flush(conn)
            except TRANSIENT_ERRORS:
                raise
            except Exception as error:  # noqa: BLE001  # retried, then parked with its reason
                self._handler.drop_unflushed()
                reason = f"{type(error).__name__}: {error}"
                await asyncio.sleep(POISON_BACKOFF * 2**attempt)
                continue
            return None
        return f"{reason} (after {POISON_ATTEMPTS} attempts)"

    async def _apply_one(self, conn: DbConnection, event: ConsumedEvent) -> None:
        with tracer.start_as_current_span(
            f"project {event.topic}",
            context=propagate.extract(event.headers),
            kind=trace.SpanKind.CONSUMER,
            attributes={
                "messaging.system": "kafka",
                "messaging.destination.name": event.topic,
                "ip.projection": self.name,
                "ip.case_id": event.key,
                "ip.event_id": str(event.event_id),
                "ip.event_type": event.headers.get("type", ""),
            },
        ):
            await self._handler.apply(conn, event)
        self.applied += 1
        APPLIED.labels(self.name).inc()

    async def _park(self, conn: DbConnection, event: ConsumedEvent, reason: str) -> None:
        """Queue the message for the dead-letter topic, with where it came from and why."""
        headers = {
            **event.headers,
            "dlq.reason": reason[:1000],
            "dlq.consumer": self.name,
            "dlq.topic": event.topic,
            "dlq.partition": str(event.partition),
            "dlq.offset": str(event.offset),
        }
        if event.event_id is not None:
            # Unclaim it, so that a replay from the dead-letter topic is applied.
            await conn.execute("DELETE FROM applied_events WHERE event_id = $1", event.event_id)
        await conn.execute(
            "INSERT INTO outbox (event_id, topic, key, payload, headers)"
            " VALUES ($1, $2, $3, $4, $5::jsonb) ON CONFLICT (event_id) DO NOTHING",
            uuid7(),
            DEAD_LETTER_TOPIC,
            event.key,
            event.value,
            json.dumps(headers),
        )
        DEAD_LETTERS.labels(self.name).inc()
        log.warning(
            "projection.parked",
            projection=self.name,
            topic=event.topic,
            partition=event.partition,
            offset=event.offset,
            reason=reason[:200],
        )


async def _claim_event_ids(conn: DbConnection, event_ids: list[UUID]) -> set[UUID]:
    rows = await conn.fetch(
        "INSERT INTO applied_events (event_id) SELECT unnest($1::uuid[])"
        " ON CONFLICT DO NOTHING RETURNING event_id",
        event_ids,
    )
    return {row["event_id"] for row in rows}


def _consumed(record: ConsumerRecord[bytes, bytes]) -> ConsumedEvent:
    return ConsumedEvent(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=(record.key or b"").decode(errors="replace"),
        value=record.value or b"",
        headers={name: value.decode(errors="replace") for name, value in record.headers},
    )
