"""Kafka side: raw produce / consume / consume + COPY, the relay, the live projection, rebuild.

The records are intake envelopes (a registration, then a first contact, per case) with the
relay's headers; the projection is the Agentur MG view's handler (the generic ``AgencyView``
for ``aa_mg``), which parses each envelope, judges it by the purpose rules and stores it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any
from uuid import UUID, uuid4

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.core import Context, Sample, Stopwatch, benchmark, say, until
from bench.fixtures import Record, intake_records
from contracts.intake import TOPIC as INTAKE_TOPIC
from services.chassis.crypto import PersonKey
from services.chassis.eventstore import install_schema
from services.chassis.offsets import topic_bounds
from services.chassis.projection import ConsumedEvent, DbConnection, ProjectionRunner
from services.chassis.rebuild import rebuild
from services.chassis.relay import OutboxRelay, create_producer
from services.projections.agency import AgencyView
from services.projections.agency_app import AGENCY
from services.projections.purpose import ViewId

PARTITIONS = 6
CHUNK = 1000  # records per pipelined wait, as the relay's batch


async def create_topic(ctx: Context, name: str) -> str:
    admin = AIOKafkaAdminClient(**ctx.kafka.client_kwargs())
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, PARTITIONS, 1)])
    finally:
        await admin.close()
    return name


async def delete_topic(ctx: Context, name: str) -> None:
    admin = AIOKafkaAdminClient(**ctx.kafka.client_kwargs())
    await admin.start()
    try:
        await admin.delete_topics([name])
    finally:
        await admin.close()


async def produce(ctx: Context, topic: str, records: Iterable[Record]) -> int:
    """Publish with the relay's producer settings, pipelined per chunk of records."""
    producer = create_producer(ctx.kafka)
    await producer.start()
    sent = 0
    try:
        pending = []
        for record in records:
            pending.append(
                await producer.send(
                    topic, value=record.value, key=record.key, headers=record.headers
                )
            )
            if len(pending) >= CHUNK:
                await asyncio.gather(*pending)
                sent += len(pending)
                pending = []
        await asyncio.gather(*pending)
        sent += len(pending)
    finally:
        await producer.stop()
    return sent


async def fixture_topic(ctx: Context, count: int) -> str:
    """A topic holding ``count`` intake records; kept in the bench stack and reused."""
    name = f"bench.fixture.{count}"
    bounds = await _bounds_or_none(ctx, name)
    if bounds is not None and sum(end - begin for begin, end in bounds.values()) == count:
        return name
    if bounds is not None:
        await delete_topic(ctx, name)
        await asyncio.sleep(1.0)
    say(f"producing the fixture topic {name} ({count} events)")
    await create_topic(ctx, name)
    await produce(ctx, name, intake_records(count))
    return name


async def _bounds_or_none(ctx: Context, name: str) -> dict[TopicPartition, tuple[int, int]] | None:
    admin = AIOKafkaAdminClient(**ctx.kafka.client_kwargs())
    await admin.start()
    try:
        exists = name in await admin.list_topics()
    finally:
        await admin.close()
    return await topic_bounds(ctx.kafka, [name]) if exists else None


@benchmark("kafka.produce.raw", "calibration", "aiokafka produce, relay settings", "events")
async def produce_raw(ctx: Context) -> Sample:
    topic = await create_topic(ctx, f"bench.produce.{uuid4().hex[:8]}")
    try:
        records = list(intake_records(ctx.sizes.events, seed=11))
        clock = Stopwatch()
        async with asyncio.timeout(_cap(ctx, ctx.sizes.events)):
            sent = await produce(ctx, topic, records)
        return Sample(sent, clock.seconds)
    finally:
        await delete_topic(ctx, topic)


def _consumer(ctx: Context) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        **ctx.kafka.client_kwargs(),
        enable_auto_commit=False,
        isolation_level="read_committed",
        max_poll_records=CHUNK,
    )


async def _consume_all(
    ctx: Context, topic: str, count: int, sink: asyncpg.Connection | None
) -> Sample:
    consumer = _consumer(ctx)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        done = 0
        clock = Stopwatch()
        async with asyncio.timeout(_cap(ctx, count)):
            while done < count:
                batches = await consumer.getmany(timeout_ms=200, max_records=CHUNK)
                records = [r for part in batches.values() for r in part]
                if sink is not None and records:
                    await sink.copy_records_to_table(
                        "consumed",
                        records=[
                            (r.topic, r.partition, r.offset, r.key.decode(), r.value)
                            for r in records
                        ],
                    )
                done += len(records)
        return Sample(done, clock.seconds)
    finally:
        await consumer.stop()


@benchmark("kafka.consume.raw", "calibration", "aiokafka consume from the beginning", "events")
async def consume_raw(ctx: Context) -> Sample:
    topic = await fixture_topic(ctx, ctx.sizes.events)
    return await _consume_all(ctx, topic, ctx.sizes.events, None)


@benchmark(
    "kafka.consume_copy.raw",
    "calibration",
    "aiokafka consume + COPY of each batch into a table",
    "events",
)
async def consume_copy_raw(ctx: Context) -> Sample:
    topic = await fixture_topic(ctx, ctx.sizes.events)
    async with ctx.database() as dsn:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(
                'CREATE TABLE consumed (topic text, "partition" int, "offset" bigint,'
                " key text, value bytea)"
            )
            return await _consume_all(ctx, topic, ctx.sizes.events, conn)
        finally:
            await conn.close()


@benchmark("relay", "ours", "OutboxRelay: outbox rows to Kafka, marked sent", "events")
async def relay(ctx: Context) -> Sample:
    count = ctx.sizes.live_events
    topic = await create_topic(ctx, f"bench.relay.{uuid4().hex[:8]}")
    try:
        async with ctx.database() as dsn:
            pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
            try:
                await install_schema(pool)
                await _fill_outbox(pool, topic, intake_records(count, seed=13))
                outbox = OutboxRelay(pool, create_producer(ctx.kafka))
                await outbox.start()
                try:
                    sent = 0
                    clock = Stopwatch()
                    async with asyncio.timeout(_cap(ctx, count)):
                        while batch := await outbox.publish_pending():
                            sent += batch
                    return Sample(sent, clock.seconds)
                finally:
                    await outbox.stop()
            finally:
                await pool.close()
    finally:
        await delete_topic(ctx, topic)


async def _fill_outbox(pool: asyncpg.Pool, topic: str, records: Iterable[Record]) -> None:
    rows = [
        (
            UUID(dict(r.headers)["event_id"].decode()),
            topic,
            r.key.decode(),
            r.value,
            json.dumps({k: v.decode() for k, v in r.headers}),
        )
        for r in records
    ]
    async with pool.acquire() as conn:
        await conn.copy_records_to_table(
            "outbox", records=rows, columns=["event_id", "topic", "key", "payload", "headers"]
        )


class _NoKeys:
    """The bench's events carry plain fields: no key to fetch."""

    async def find(self, case_id: UUID, key_id: str | None = None) -> PersonKey | None:  # noqa: ARG002  # the port's shape
        return None

    def forget(self, case_id: UUID) -> None:
        """Nothing cached."""


async def _no_history(_case_id: UUID, _before: object) -> list[Any]:
    """The bench's cases are new: nothing to read back (a registration is judged alone)."""
    return []


class _AsIntake:
    """The Agentur view's handler on a bench topic: it reads it as the intake topic."""

    def __init__(self) -> None:
        self._view = AgencyView(ViewId.AA_MG, _NoKeys(), _no_history)

    async def start_batch(self, conn: DbConnection, events: Sequence[ConsumedEvent]) -> None:
        await self._view.start_batch(conn, [replace(e, topic=INTAKE_TOPIC) for e in events])

    async def apply(self, conn: DbConnection, event: ConsumedEvent) -> None:
        await self._view.apply(conn, replace(event, topic=INTAKE_TOPIC))

    async def flush(self, conn: DbConnection) -> None:
        await self._view.flush(conn)

    def drop_unflushed(self) -> None:
        self._view.drop_unflushed()


def _runner(
    ctx: Context, pool: asyncpg.Pool, topics: Sequence[str], group: str
) -> ProjectionRunner:
    return ProjectionRunner(
        name="bench",
        pool=pool,
        kafka=ctx.kafka,
        topics=topics,
        group_id=group,
        handler=_AsIntake(),
    )


@benchmark(
    "projection.live",
    "ours",
    "ProjectionRunner + Agentur view handler, events arriving while it runs",
    "events",
)
async def projection_live(ctx: Context) -> Sample:
    count = ctx.sizes.live_events
    topic = await create_topic(ctx, f"bench.live.{uuid4().hex[:8]}")
    try:
        async with ctx.database() as dsn:
            pool = await asyncpg.create_pool(dsn, min_size=2, max_size=4)
            try:
                await AGENCY.install(pool)
                runner = _runner(ctx, pool, [topic], f"bench-live-{uuid4().hex[:8]}")
                stop = asyncio.Event()
                task = asyncio.create_task(runner.run(stop))
                try:
                    records = list(intake_records(count + 2, seed=17))
                    await produce(ctx, topic, records[:2])  # one case: the runner is assigned

                    async def warmed() -> bool:
                        _raise_if_failed(task)
                        return runner.applied >= 2

                    await until(warmed, within=60)
                    clock = Stopwatch()

                    async def caught_up() -> bool:
                        _raise_if_failed(task)
                        return runner.applied >= count + 2

                    await produce(ctx, topic, records[2:])
                    await until(caught_up, within=_cap(ctx, count), every=0.005)
                    return Sample(runner.applied - 2, clock.seconds)
                finally:
                    stop.set()
                    await task
            finally:
                await pool.close()
    finally:
        await delete_topic(ctx, topic)


def _raise_if_failed(task: asyncio.Task[None]) -> None:
    if task.done():
        task.result()
        raise RuntimeError("the projection runner stopped early")


@benchmark("rebuild", "ours", "services.chassis.rebuild into a fresh generation", "events")
async def rebuild_view(ctx: Context) -> Sample:
    return await rebuild_of(ctx, ctx.sizes.events)


async def rebuild_of(ctx: Context, count: int) -> Sample:
    """Rebuild the view from a fixture topic of ``count`` events into a fresh database."""
    topic = await fixture_topic(ctx, count)
    async with ctx.database() as dsn:
        clock = Stopwatch()
        async with asyncio.timeout(_cap(ctx, count)):
            await rebuild(
                view="bench",
                dsn=dsn,
                kafka=ctx.kafka,
                topics=[topic],
                install=AGENCY.install,
                make_runner=lambda pool, group: _runner(ctx, pool, [topic], group),
                progress=_quiet,
            )
        return Sample(count, clock.seconds)


def _quiet(done: int, total: int) -> None:
    """The rebuild's progress is not shown: the bench reports each run's result."""


def _cap(ctx: Context, count: int) -> float:
    """Seconds a streaming measurement of ``count`` events may take (at least 500/s)."""
    return max(ctx.sizes.time_cap, count / 500)
