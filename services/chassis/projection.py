"""The projection runner: Kafka in, view rows out, with exactly-once effect.

Each batch is applied in one PostgreSQL transaction together with the consumed positions;
on assignment the consumer seeks to the stored positions, so Kafka's own committed offsets
are only a lag gauge for operators. Events already applied (the relay is at-least-once)
are skipped by ``event_id``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Protocol, TypeAlias
from uuid import UUID

import asyncpg
import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.structs import ConsumerRecord
from asyncpg.pool import PoolConnectionProxy
from opentelemetry import propagate, trace

from services.chassis.eventstore import SCHEMA_LOCK

log = structlog.get_logger("projection")
tracer = trace.get_tracer("services.chassis.projection")

DbConnection: TypeAlias = asyncpg.Connection | PoolConnectionProxy  # a handler gets either

KAFKA_COMMIT_INTERVAL = 5.0  # seconds; Kafka offsets only feed the lag gauge


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


class ProjectionHandler(Protocol):
    """Turns one event into view rows, inside the runner's transaction."""

    async def apply(self, conn: DbConnection, event: ConsumedEvent) -> None: ...


async def install_projection_schema(pool: asyncpg.Pool, view_sql: str) -> None:
    """Create the runner's bookkeeping tables and the view's own tables (idempotent)."""
    bookkeeping = resources.files("services.chassis").joinpath("projection.sql").read_text()
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", SCHEMA_LOCK)
        await conn.execute(bookkeeping)
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
        bootstrap: str,
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
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            group_id=group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
            max_poll_records=max_batch,
        )
        self.applied = 0

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
        """Consume until ``stop`` is set."""
        self._consumer.subscribe(self._topics, listener=_SeekToStoredPositions(self))
        await self._consumer.start()
        last_commit = time.monotonic()
        try:
            while not stop.is_set():
                batches = await self._consumer.getmany(timeout_ms=200, max_records=self._max_batch)
                records = [record for part in batches.values() for record in part]
                if not records:
                    continue
                await self.apply_batch([_consumed(record) for record in records])
                if time.monotonic() - last_commit > KAFKA_COMMIT_INTERVAL:
                    await self._consumer.commit()
                    last_commit = time.monotonic()
        finally:
            await self._consumer.stop()

    async def apply_batch(self, events: Sequence[ConsumedEvent]) -> None:
        """Apply new events and store the batch's positions, all in one transaction."""
        positions: dict[tuple[str, int], int] = {}
        async with self._pool.acquire() as conn, conn.transaction():
            fresh = await _claim_event_ids(conn, [e.event_id for e in events if e.event_id])
            for event in events:
                positions[(event.topic, event.partition)] = event.offset
                if event.event_id is None or event.event_id not in fresh:
                    continue
                fresh.discard(event.event_id)  # a duplicate within the batch applies once
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
            await conn.executemany(
                'INSERT INTO projection_positions (topic, "partition", "offset")'
                ' VALUES ($1, $2, $3) ON CONFLICT (topic, "partition")'
                ' DO UPDATE SET "offset" = excluded."offset"',
                [(topic, part, offset) for (topic, part), offset in positions.items()],
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
