"""The projection runner on the real broker and database: de-duplication, stored positions,
and poison messages parked on the dead-letter topic with their reason while the rest flows."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from uuid import UUID, uuid4

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import CommitFailedError
from aiokafka.structs import ConsumerRecord

from contracts.topics import DEAD_LETTER_TOPIC
from deploy.local.devstack import StackInfo
from services.chassis import deadletters
from services.chassis.kafka import KafkaAccess
from services.chassis.projection import (
    ConsumedEvent,
    DbConnection,
    ProjectionHandler,
    ProjectionRunner,
    WritesAsItApplies,
    install_projection_schema,
)
from tests.conftest import create_topic, read_topic

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

SEEN_SQL = "CREATE TABLE IF NOT EXISTS seen (event_id uuid, body text)"


class Recorder(WritesAsItApplies):
    """Records each applied event; refuses the body ``poison`` as a broken handler would."""

    async def start_batch(self, conn: DbConnection, events: Sequence[ConsumedEvent]) -> None:
        """Nothing to prepare."""

    async def apply(self, conn: DbConnection, event: ConsumedEvent) -> None:
        await conn.execute("INSERT INTO seen VALUES ($1, $2)", event.event_id, event.value.decode())
        if event.value == b"poison":
            raise ValueError("cannot project this body")


def new_runner(
    stack: StackInfo,
    pool: asyncpg.Pool,
    topic: str,
    handler: ProjectionHandler | None = None,
    name: str = "test",
) -> ProjectionRunner:
    """A runner of ``topic`` (a ``Recorder`` unless ``handler``) in a consumer group of its own:
    Kafka knows no offset for it, so where it starts is the stored position's doing alone."""
    return ProjectionRunner(
        name=name,
        pool=pool,
        kafka=stack.kafka,
        topics=[topic],
        group_id=f"test.{uuid4().hex[:8]}",
        handler=handler or Recorder(),
    )


async def produce(stack: StackInfo, topic: str, messages: list[tuple[str | None, bytes]]) -> None:
    producer = AIOKafkaProducer(**stack.kafka.client_kwargs(), acks="all")
    await producer.start()
    try:
        for event_id, body in messages:
            headers = [("event_id", event_id.encode())] if event_id else []
            # Each message its own case: a parked case holds back only its own later events.
            key = (event_id or "no-id").encode()
            await producer.send_and_wait(topic, body, key=key, headers=headers)
    finally:
        await producer.stop()


async def dead_letters_for(stack: StackInfo, topic: str, expected: int) -> list[dict[str, str]]:
    """Headers and body of the dead letters parked from ``topic``."""

    def parked(records: list[ConsumerRecord[bytes, bytes]]) -> list[dict[str, str]]:
        letters = [
            {**{k: v.decode() for k, v in r.headers}, "body": (r.value or b"").decode()}
            for r in records
        ]
        return [letter for letter in letters if letter.get("dlq.topic") == topic]

    records = await read_topic(stack, DEAD_LETTER_TOPIC, lambda rs: len(parked(rs)) >= expected)
    return parked(records)


async def run_until_applied(runner: ProjectionRunner, pool: asyncpg.Pool, count: int) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    try:
        for _ in range(300):
            if await pool.fetchval("SELECT count(*) FROM seen") >= count:
                break
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        await task


async def test_poison_is_parked_with_reason_and_the_rest_applies_once(
    stack: StackInfo, fresh_pool: asyncpg.Pool
) -> None:
    """A body the handler refuses and a message without event id go to the dead-letter topic
    with reason and origin; the other events apply exactly once, duplicates included."""
    topic = await create_topic(stack, f"test.runner.{uuid4().hex[:8]}", partitions=1)
    await install_projection_schema(fresh_pool, SEEN_SQL)
    good = [str(uuid4()) for _ in range(5)]
    poison_id = str(uuid4())
    await produce(
        stack,
        topic,
        [
            (good[0], b"a"),
            (good[1], b"b"),
            (poison_id, b"poison"),
            (None, b"no id"),
            (good[2], b"c"),
            (good[1], b"b"),  # the relay published it again
            (good[3], b"d"),
            (good[4], b"e"),
        ],
    )
    runner = new_runner(stack, fresh_pool, topic)

    await run_until_applied(runner, fresh_pool, count=5)

    seen = await fresh_pool.fetch("SELECT event_id, body FROM seen ORDER BY body")
    assert [(str(r["event_id"]), r["body"]) for r in seen] == list(zip(good, "abcde", strict=True))
    assert (
        await fresh_pool.fetchval(
            'SELECT "offset" FROM projection_positions WHERE topic = $1', topic
        )
        == 7
    )
    assert not await fresh_pool.fetchval(
        "SELECT count(*) FROM applied_events WHERE event_id = $1", UUID(poison_id)
    )
    parked = await dead_letters_for(stack, topic, expected=2)
    by_body = {letter["body"]: letter for letter in parked}
    assert set(by_body) == {"poison", "no id"}
    assert (
        by_body["poison"]["dlq.reason"] == "ValueError: cannot project this body (after 3 attempts)"
    )
    assert by_body["poison"]["dlq.offset"] == "2"
    assert by_body["poison"]["event_id"] == poison_id
    assert by_body["no id"]["dlq.reason"] == "no valid event_id header"
    assert by_body["no id"]["dlq.consumer"] == "test"


async def test_restart_resumes_from_the_stored_position(
    stack: StackInfo, fresh_pool: asyncpg.Pool
) -> None:
    """A new runner in a new consumer group starts after the stored position, not from zero."""
    topic = await create_topic(stack, f"test.runner.{uuid4().hex[:8]}", partitions=1)
    await install_projection_schema(fresh_pool, SEEN_SQL)
    first, second = str(uuid4()), str(uuid4())
    await produce(stack, topic, [(first, b"first")])

    await run_until_applied(new_runner(stack, fresh_pool, topic), fresh_pool, count=1)
    await produce(stack, topic, [(second, b"second")])
    await run_until_applied(new_runner(stack, fresh_pool, topic), fresh_pool, count=2)

    bodies = [r["body"] for r in await fresh_pool.fetch("SELECT body FROM seen ORDER BY body")]
    assert bodies == ["first", "second"]


async def test_records_applied_again_never_move_the_stored_position_back(
    fresh_pool: asyncpg.Pool,
) -> None:
    """Records of a batch already applied, delivered again (a rebalance's seek read the
    positions before that batch committed), are skipped and leave the position where it was."""
    await install_projection_schema(fresh_pool, SEEN_SQL)
    runner = ProjectionRunner(
        name="test",
        pool=fresh_pool,
        kafka=KafkaAccess("127.0.0.1:9"),  # never started: the test hands the records over
        topics=["t"],
        group_id="test",
        handler=Recorder(),
    )
    records = [
        ConsumedEvent(
            "t", 0, offset, str(uuid4()), f"n{offset}".encode(), {"event_id": str(uuid4())}
        )
        for offset in range(6)
    ]

    await runner.apply_batch(records)
    await runner.apply_batch(records[2:4])

    assert (
        await fresh_pool.fetchval(
            'SELECT "offset" FROM projection_positions WHERE topic = $1 AND "partition" = 0', "t"
        )
        == 5
    )
    assert await fresh_pool.fetchval("SELECT count(*) FROM seen") == 6


class FlakyRecorder(Recorder):
    """Fails on the body ``poison`` until it is mended, as a handler with a bug would."""

    def __init__(self) -> None:
        self.broken = True

    async def apply(self, conn: DbConnection, event: ConsumedEvent) -> None:
        if self.broken and event.value == b"poison":
            raise ValueError("cannot project this body yet")
        await conn.execute("INSERT INTO seen VALUES ($1, $2)", event.event_id, event.value.decode())


async def test_a_parked_case_waits_behind_its_poison_and_replays_in_order(
    stack: StackInfo, fresh_pool: asyncpg.Pool
) -> None:
    """After a poison, the case's later events are parked behind it while other cases flow;
    a replay of the poison (once the handler is mended) releases the case, in order."""
    topic = await create_topic(stack, f"test.runner.{uuid4().hex[:8]}", partitions=1)
    await install_projection_schema(fresh_pool, SEEN_SQL)
    consumer = f"test-replay-{uuid4().hex[:6]}"
    ids = [str(uuid4()) for _ in range(4)]
    case, other = f"case-{uuid4().hex[:6]}", f"case-{uuid4().hex[:6]}"
    producer = AIOKafkaProducer(**stack.kafka.client_kwargs(), acks="all")
    await producer.start()
    try:
        for event_id, key, body in (
            (ids[0], case, b"a"),
            (ids[1], case, b"poison"),
            (ids[2], case, b"b"),
            (ids[3], other, b"c"),
        ):
            await producer.send_and_wait(
                topic, body, key=key.encode(), headers=[("event_id", event_id.encode())]
            )
    finally:
        await producer.stop()
    handler = FlakyRecorder()

    def runner() -> ProjectionRunner:
        return new_runner(stack, fresh_pool, topic, handler, name=consumer)

    await run_until_applied(runner(), fresh_pool, count=2)
    before_replay = [r["body"] for r in await fresh_pool.fetch("SELECT body FROM seen")]
    letters = [
        letter
        for letter in await deadletters.parked(stack.kafka)
        if letter.headers.get("dlq.consumer") == consumer
    ]
    handler.broken = False
    replayed = await deadletters.replay(stack.kafka, letters[0])
    await run_until_applied(runner(), fresh_pool, count=4)
    after_replay = [r["body"] for r in await fresh_pool.fetch("SELECT body FROM seen")]

    assert sorted(before_replay) == ["a", "c"]
    assert [letter.value for letter in letters] == [b"poison", b"b"]
    assert letters[0].headers["dlq.reason"].endswith("(after 3 attempts)")
    assert letters[1].headers["dlq.reason"] == f"behind parked {ids[1]}"
    assert [letter.value for letter in replayed] == [b"poison", b"b"]
    assert after_replay[2:] == ["poison", "b"]
    assert await fresh_pool.fetchval("SELECT count(*) FROM parked_keys") == 0


async def test_a_refused_kafka_commit_does_not_stop_the_projection(
    stack: StackInfo, fresh_pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kafka refusing a commit after a rebalance (CommitFailedError) leaves the runner
    projecting: Kafka's offsets only feed lag, the positions live with the rows."""
    monkeypatch.setattr("services.chassis.projection.KAFKA_COMMIT_INTERVAL", 0.0)
    topic = await create_topic(stack, f"test.runner.{uuid4().hex[:8]}", partitions=1)
    await install_projection_schema(fresh_pool, SEEN_SQL)
    runner = new_runner(stack, fresh_pool, topic)
    refused = 0

    async def refuse(_consumer: AIOKafkaConsumer) -> None:
        nonlocal refused
        refused += 1
        raise CommitFailedError("the group has already rebalanced")

    # The one seam: the runner makes its consumer when it runs.
    monkeypatch.setattr(AIOKafkaConsumer, "commit", refuse)
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    try:
        for n, body in enumerate((b"first", b"second"), start=1):
            await produce(stack, topic, [(str(uuid4()), body)])
            for _ in range(300):
                if task.done() or await fresh_pool.fetchval("SELECT count(*) FROM seen") >= n:
                    break
                await asyncio.sleep(0.1)
    finally:
        stop.set()
        await task  # raises if the runner crashed

    assert refused >= 1
    assert await fresh_pool.fetchval("SELECT count(*) FROM seen") == 2
