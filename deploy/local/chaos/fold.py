"""The verdict of a crash run: every view against the fold of the services' event stores.

The stores are the truth. For each view the suite folds the stores' events, in the order
they were recorded (each stream in version order), through the view's own handler into a
reference schema, then compares the view's tables with the reference's by checksum. Lost
and duplicated are counted on the way: acknowledged commands missing from a store, stored
events missing from their topic or from a view, and effects recorded twice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition

from contracts.envelope import Envelope
from contracts.topics import CODECS, DOMAIN_TOPICS
from services.chassis import generations
from services.chassis.kafka import KafkaAccess
from services.chassis.keyclient import IntakeKeyClient, intake_http
from services.chassis.offsets import topic_bounds
from services.chassis.oidc import OidcClientSettings
from services.chassis.projection import ConsumedEvent, ProjectionHandler, ProjectionRunner
from services.projections.agency import AgencyView
from services.projections.agency_app import AGENCY, ViewParts, ViewPorts
from services.projections.agency_settings import ViewProjectionSettings
from services.projections.history import HistoryReader, partition_of
from services.projections.purpose import ViewId
from services.projections.views import parts_of

TOPIC_OF = {  # service -> the topic its relay publishes
    "intake": DOMAIN_TOPICS[0],
    "language": DOMAIN_TOPICS[1],
    "recognition": DOMAIN_TOPICS[2],
    "placement": DOMAIN_TOPICS[3],
}
PARTITIONS = 6
BATCH = 500  # events per reference transaction, as a view's batches


@dataclass(frozen=True)
class StoredEvent:
    """One event of a service's store, with its place in the order of recording."""

    topic: str
    stream_id: UUID
    version: int
    event_id: UUID
    type: str
    schema_version: int
    body: str
    recorded: datetime  # at or after the recording of the stream's earlier versions
    causation: str | None


@dataclass(frozen=True)
class ViewSpec:
    """A running view: its id, database, the tables it derives and its key reader's client."""

    view: ViewId
    dsn: str
    key_reader: OidcClientSettings

    @property
    def parts(self) -> ViewParts:
        return parts_of(self.view)

    @property
    def topics(self) -> tuple[str, ...]:
        return DOMAIN_TOPICS


@dataclass
class ViewVerdict:
    view: str
    checksums: dict[str, tuple[str, str]]  # table -> (view, fold)
    lost: int  # events the fold applied and the view did not
    unexpected: int  # events the view applied that no store holds
    samples: list[str] = field(default_factory=list)
    differing: dict[str, tuple[int, int]] = field(default_factory=dict)  # rows only in each

    @property
    def equal(self) -> bool:
        return all(live == folded for live, folded in self.checksums.values())


async def stored_events(dsns: Mapping[str, str]) -> list[StoredEvent]:
    """Every event of the four stores, in the order of recording (streams in version order)."""
    events: list[StoredEvent] = []
    for service, dsn in dsns.items():
        conn = await asyncpg.connect(dsn)
        try:
            rows = await conn.fetch(
                "SELECT stream_id, version, event_id, type, schema_version, body::text AS body,"
                " recorded_at, body->>'causation_id' AS causation"
                " FROM events ORDER BY stream_id, version"
            )
        finally:
            await conn.close()
        latest: dict[UUID, datetime] = {}
        for row in rows:
            recorded = max(row["recorded_at"], latest.get(row["stream_id"], row["recorded_at"]))
            latest[row["stream_id"]] = recorded
            events.append(
                StoredEvent(
                    TOPIC_OF[service],
                    row["stream_id"],
                    row["version"],
                    row["event_id"],
                    row["type"],
                    row["schema_version"],
                    row["body"],
                    recorded,
                    row["causation"],
                )
            )
    events.sort(key=lambda e: (e.recorded, e.topic, str(e.stream_id), e.version))
    return events


def applied_twice_in_stores(events: Sequence[StoredEvent]) -> int:
    """Effects recorded twice: the same event, from the same cause, twice in one stream (a
    reaction that ran twice); redeliveries must not leave a trace in the stores."""
    seen: set[tuple[UUID, str, str, str]] = set()
    twice = 0
    for event in events:
        if event.causation is None:
            continue
        data = json.dumps(json.loads(event.body)["data"], sort_keys=True)
        fingerprint = (event.stream_id, event.causation, event.type, data)
        twice += fingerprint in seen
        seen.add(fingerprint)
    return twice


async def missing_acknowledged(
    dsns: Mapping[str, str], acknowledged: Mapping[str, list[str]]
) -> int:
    """Commands answered 201 whose idempotency key no store holds."""
    missing = 0
    for service, keys in acknowledged.items():
        conn = await asyncpg.connect(dsns[service])
        try:
            found = await conn.fetchval(
                "SELECT count(*) FROM handled_commands WHERE idempotency_key = ANY($1::text[])",
                keys,
            )
        finally:
            await conn.close()
        missing += len(set(keys)) - int(found)
    return missing


async def missing_on_topics(kafka: KafkaAccess, events: Sequence[StoredEvent]) -> tuple[int, int]:
    """(stored events not on their topic, records published more than once)."""
    bounds = await topic_bounds(kafka, list(DOMAIN_TOPICS))
    consumer = AIOKafkaConsumer(**kafka.client_kwargs(), enable_auto_commit=False)
    await consumer.start()
    published: dict[str, int] = {}
    try:
        wanted = {tp: end for tp, (begin, end) in bounds.items() if end > begin}
        consumer.assign(list(wanted))
        await consumer.seek_to_beginning(*wanted)
        for partition, end in wanted.items():
            while await consumer.position(partition) < end:
                batch = await consumer.getmany(partition, timeout_ms=1000, max_records=5000)
                for record in batch.get(partition, []):
                    event_id = dict(record.headers).get("event_id", b"").decode()
                    published[event_id] = published.get(event_id, 0) + 1
    finally:
        await consumer.stop()
    lost = sum(1 for event in events if str(event.event_id) not in published)
    return lost, sum(count - 1 for count in published.values())


class StoreHistory:
    """A case's history as the fold has applied it so far (a view reads it from the topics)."""

    def __init__(self) -> None:
        self.applied: dict[UUID, list[Envelope[Any]]] = {}

    async def __call__(
        self, case_id: UUID, _before: Mapping[TopicPartition, int]
    ) -> list[Envelope[Any]]:
        return sorted(
            self.applied.get(case_id, []), key=lambda e: (e.occurred_at, e.stream_version)
        )


def _handler(spec: ViewSpec, keys: IntakeKeyClient, history: StoreHistory) -> ProjectionHandler:
    """The view's own handler; an agency's reads a case's history from the fold, not Kafka."""
    if spec.parts is AGENCY:
        return AgencyView(spec.view, keys, history)
    settings = ViewProjectionSettings(agency_view=spec.view, agency_database_url=spec.dsn)
    # Steering reads no case's history: its reader never starts a consumer.
    return spec.parts.handler(settings, ViewPorts(keys, HistoryReader(settings.kafka)))


async def fold_into(
    reference_dsn: str, spec: ViewSpec, events: Sequence[StoredEvent], intake_url: str
) -> str:
    """Fold the stores' events through the view's handler into a fresh schema; its name."""
    schema = f"fold_{spec.view.value}"
    admin = await asyncpg.connect(reference_dsn)
    try:
        await admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}")
    finally:
        await admin.close()
    pool = await generations.open_pool(reference_dsn, schema)
    history = StoreHistory()
    offsets: dict[tuple[str, int], int] = {}
    try:
        await spec.parts.install(pool)
        async with intake_http(intake_url, spec.key_reader) as http:
            runner = ProjectionRunner(
                name=f"fold.{spec.view.value}",
                pool=pool,
                kafka=KafkaAccess("127.0.0.1:9"),  # never started: the fold reads the stores
                topics=spec.topics,
                group_id=f"fold.{spec.view.value}",
                handler=_handler(spec, IntakeKeyClient(http), history),
            )
            mine = [event for event in events if event.topic in spec.topics]
            for start in range(0, len(mine), BATCH):
                batch = [_consumed(event, offsets) for event in mine[start : start + BATCH]]
                await runner.apply_batch(batch)
                for consumed in batch:
                    envelope = CODECS[consumed.topic].parse(consumed.value)
                    history.applied.setdefault(envelope.case_id, []).append(envelope)
    finally:
        await pool.close()
    return schema


def _consumed(event: StoredEvent, offsets: dict[tuple[str, int], int]) -> ConsumedEvent:
    partition = partition_of(event.stream_id, PARTITIONS)
    offset = offsets.get((event.topic, partition), -1) + 1
    offsets[(event.topic, partition)] = offset
    return ConsumedEvent(
        topic=event.topic,
        partition=partition,
        offset=offset,
        key=str(event.stream_id),
        value=event.body.encode(),
        headers={
            "event_id": str(event.event_id),
            "case_id": str(event.stream_id),
            "type": event.type,
            "schema_version": str(event.schema_version),
        },
    )


async def _applied(conn: asyncpg.Connection, schema: str) -> set[UUID]:
    rows = await conn.fetch(f"SELECT event_id FROM {schema}.applied_events")  # noqa: S608  # our names
    return {row["event_id"] for row in rows}


async def _table_rows(conn: asyncpg.Connection, schema: str, table: str) -> list[str]:
    rows = await conn.fetch(f"SELECT t::text AS row FROM {schema}.{table} t")  # noqa: S608  # our names
    return sorted(row["row"] for row in rows)


def checksum(rows: Sequence[str]) -> str:
    """Rows and a digest of their sorted text."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update(row.encode() + b"\n")
    return f"{len(rows)} rows sha256:{digest.hexdigest()[:16]}"


async def compare(spec: ViewSpec, reference_dsn: str, schema: str) -> ViewVerdict:
    """The view (its active generation) against the fold, table by table."""
    live = await asyncpg.connect(spec.dsn)
    folded = await asyncpg.connect(reference_dsn)
    try:
        generation = await generations.active(live)
        checksums: dict[str, tuple[str, str]] = {}
        samples: list[str] = []
        differing: dict[str, tuple[int, int]] = {}
        for table in spec.parts.tables:
            mine = await _table_rows(live, generation, table)
            theirs = await _table_rows(folded, schema, table)
            checksums[table] = (checksum(mine), checksum(theirs))
            if mine != theirs:
                only_view = sorted(set(mine) - set(theirs))
                only_fold = sorted(set(theirs) - set(mine))
                differing[table] = (len(only_view), len(only_fold))
                samples += [f"{table} view only: {row}" for row in only_view[:2]]
                samples += [f"{table} fold only: {row}" for row in only_fold[:2]]
        live_ids, fold_ids = await _applied(live, generation), await _applied(folded, schema)
    finally:
        await live.close()
        await folded.close()
    return ViewVerdict(
        view=spec.view.value,
        checksums=checksums,
        lost=len(fold_ids - live_ids),
        unexpected=len(live_ids - fold_ids),
        samples=samples,
        differing=differing,
    )
