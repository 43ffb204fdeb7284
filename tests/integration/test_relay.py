"""The outbox relay against the real PostgreSQL and Kafka: gap-safe and at-least-once."""

from __future__ import annotations

import json
from uuid import uuid4

import asyncpg
import pytest

from deploy.local.devstack import StackInfo
from services.chassis.eventstore import install_schema
from services.chassis.relay import OutboxRelay, create_producer
from tests.conftest import create_topic, read_topic

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

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
