"""The outbox relay against the real PostgreSQL and Kafka: gap-safe and at-least-once."""

from __future__ import annotations

import json
from datetime import date
from uuid import uuid4

import asyncpg
import pytest
from opentelemetry import trace

from contracts.envelope import Agency
from contracts.intake import TOPIC, FirstContactMade, intake_codec
from deploy.local.devstack import StackInfo
from services.asyncapi import DOCS
from services.chassis.eventstore import CommandContext, PostgresEventStore, install_schema
from services.chassis.relay import OutboxRelay, create_producer
from tests.conftest import create_topic, read_topic

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

TRACE_ID = 0x0AF7651916CD43DD8448EB211C80319C
SAMPLED = trace.TraceFlags(trace.TraceFlags.SAMPLED)

INSERT_ROW = (
    "INSERT INTO outbox (event_id, topic, key, payload, headers) VALUES ($1, $2, $3, $4, $5::jsonb)"
    " RETURNING position"
)


async def published(stack: StackInfo, topic: str, expected: int) -> list[str]:
    """The event ids on ``topic``, in order, once ``expected`` of them arrived."""
    records = await read_topic(stack, topic, lambda records: len(records) >= expected)
    return [dict(record.headers)["event_id"].decode() for record in records]


async def test_row_committed_late_with_lower_position_is_still_published(
    stack: StackInfo, fresh_pool: asyncpg.Pool
) -> None:
    """A transaction that took position 1 but commits after position 2 was published is not
    skipped: the relay picks unsent rows, not positions after the last one it sent."""
    await install_schema(fresh_pool)
    topic = await create_topic(stack, f"test.relay.{uuid4().hex[:8]}")
    producer = create_producer(stack.kafka)
    await producer.start()
    relay = OutboxRelay(fresh_pool, producer)
    early, late = uuid4(), uuid4()
    try:
        slow = await fresh_pool.acquire()
        slow_tx = slow.transaction()
        await slow_tx.start()
        slow_position = await slow.fetchval(
            INSERT_ROW, early, topic, "case-a", b"slow", json.dumps({"event_id": str(early)})
        )
        fast_position = await fresh_pool.fetchval(
            INSERT_ROW, late, topic, "case-b", b"fast", json.dumps({"event_id": str(late)})
        )
        assert slow_position < fast_position

        published_while_open = await relay.publish_pending()
        await slow_tx.commit()
        await fresh_pool.release(slow)
        published_after_commit = await relay.publish_pending()
    finally:
        await producer.stop()

    assert (published_while_open, published_after_commit) == (1, 1)
    assert sorted(await published(stack, topic, 2)) == sorted([str(early), str(late)])
    assert await fresh_pool.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL") == 0


async def test_rows_are_published_once_marked_and_not_again(
    stack: StackInfo, fresh_pool: asyncpg.Pool
) -> None:
    """A batch is published in position order, marked sent, and a second pass sends nothing."""
    await install_schema(fresh_pool)
    topic = await create_topic(stack, f"test.relay.{uuid4().hex[:8]}", partitions=1)
    ids = [uuid4() for _ in range(50)]
    for event_id in ids:
        await fresh_pool.execute(
            INSERT_ROW, event_id, topic, "same-case", b"x", json.dumps({"event_id": str(event_id)})
        )
    producer = create_producer(stack.kafka)
    await producer.start()
    try:
        relay = OutboxRelay(fresh_pool, producer)
        sent = [await relay.publish_pending(), await relay.publish_pending()]
    finally:
        await producer.stop()

    assert sent == [50, 0]
    assert await published(stack, topic, 50) == [str(i) for i in ids]


async def test_a_published_event_has_the_key_headers_and_correlation_id_its_document_names(
    stack: StackInfo, fresh_pool: asyncpg.Pool
) -> None:
    """An event appended and relayed carries on Kafka what docs/asyncapi/intake.json says:
    the case id as key, every required header (and only documented ones), and the
    correlation id where its correlationId points."""
    await install_schema(fresh_pool)
    topic = await create_topic(stack, f"test.relay.{uuid4().hex[:8]}", partitions=1)
    store = PostgresEventStore(fresh_pool, topic, intake_codec)
    case, correlation = uuid4(), uuid4()
    context = CommandContext(str(uuid4()), Agency.AA_MG, correlation)
    command_span = trace.NonRecordingSpan(
        trace.SpanContext(TRACE_ID, 0xB7AD6B7169203331, is_remote=True, trace_flags=SAMPLED)
    )
    with trace.use_span(command_span):  # as under a traced HTTP request
        await store.append(case, 0, [FirstContactMade(contacted_on=date(2016, 2, 9))], context)
    producer = create_producer(stack.kafka)
    await producer.start()
    try:
        assert await OutboxRelay(fresh_pool, producer).publish_pending() == 1
    finally:
        await producer.stop()
    (record,) = await read_topic(stack, topic, lambda records: len(records) >= 1)

    document = json.loads((DOCS / "intake.json").read_text())
    message = document["components"]["messages"][f"{TOPIC}:Message"]
    sent = {name: value.decode() for name, value in record.headers}
    assert set(message["headers"]["required"]) <= set(sent) <= set(message["headers"]["properties"])
    assert sent["traceparent"].split("-")[1] == f"{TRACE_ID:032x}"  # the command's trace
    assert message["bindings"]["kafka"]["key"]["format"] == "uuid"
    assert record.key == str(case).encode()
    location = message["correlationId"]["location"]
    assert location == "$message.payload#/correlation_id"
    assert json.loads(record.value or b"{}")["correlation_id"] == str(correlation)
