"""A service's reactions on the real broker: a message that cannot be handled is parked, the
case's later messages are parked behind it while other cases flow, and a replay of the
parked messages releases the case in order."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from contracts.envelope import Envelope
from contracts.intake import IntakeEnvelope, intake_codec
from deploy.local.devstack import StackInfo
from services.chassis import deadletters
from services.chassis.eventstore import install_schema
from services.chassis.reactions import Reaction, dead_letter_parker, reaction_broker, subscribe
from services.chassis.relay import create_producer
from tests.conftest import create_topic

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

SAMPLE = json.loads(
    (
        Path(__file__).resolve().parents[2]
        / "contracts/samples/ip.intake.case.v1/intake.contact_recorded.v1.json"
    ).read_text()
)
HANDLED_SQL = "CREATE TABLE handled (n serial, event_id uuid, case_id uuid)"


class Mendable:
    """Refuses one event until mended, as a reaction with a bug would; records the rest."""

    def __init__(self, poison: UUID) -> None:
        self.poison = poison
        self.broken = True

    async def __call__(self, envelope: Envelope[Any], pool: asyncpg.Pool) -> None:
        if self.broken and envelope.event_id == self.poison:
            raise ValueError("cannot react to this event yet")
        await pool.execute(
            "INSERT INTO handled (event_id, case_id) VALUES ($1, $2)",
            envelope.event_id,
            envelope.case_id,
        )


def event(case_id: UUID, version: int) -> tuple[UUID, bytes]:
    event_id = uuid4()
    body = {**SAMPLE, "event_id": str(event_id), "case_id": str(case_id), "stream_version": version}
    return event_id, json.dumps(body).encode()


async def handled(pool: asyncpg.Pool) -> list[UUID]:
    return [r["event_id"] for r in await pool.fetch("SELECT event_id FROM handled ORDER BY n")]


async def until(pool: asyncpg.Pool, count: int) -> list[UUID]:
    for _ in range(600):
        done = await handled(pool)
        if len(done) >= count:
            return done
        await asyncio.sleep(0.1)
    return await handled(pool)


async def test_a_reaction_parks_a_case_behind_its_poison_and_replays_it_in_order(
    stack: StackInfo, fresh_pool: asyncpg.Pool
) -> None:
    """Case A: ok, poison, ok; case B: unreadable, ok; case C: ok. A's and B's later events
    are parked behind their first parked message, C flows; replaying A's poison (mended)
    applies A's two parked events in order and releases A; B stays held."""
    topic = await create_topic(stack, f"test.reaction.{uuid4().hex[:8]}", partitions=1)
    await install_schema(fresh_pool, HANDLED_SQL)
    case_a, case_b, case_c = uuid4(), uuid4(), uuid4()
    a1, a2, a3 = event(case_a, 1), event(case_a, 2), event(case_a, 3)
    b2, c1 = event(case_b, 2), event(case_c, 1)
    unreadable_id = uuid4()
    messages = [
        (case_a, a1[1], a1[0]),
        (case_a, a2[1], a2[0]),
        (case_b, b"{not json", unreadable_id),
        (case_a, a3[1], a3[0]),
        (case_b, b2[1], b2[0]),
        (case_c, c1[1], c1[0]),
    ]
    producer = AIOKafkaProducer(**stack.kafka.client_kwargs(), acks="all")
    await producer.start()
    try:
        for case_id, body, event_id in messages:
            await producer.send_and_wait(
                topic,
                body,
                key=str(case_id).encode(),
                headers=[("event_id", str(event_id).encode())],
            )
    finally:
        await producer.stop()
    name = f"test.reaction.{uuid4().hex[:6]}"
    handler = Mendable(poison=a2[0])
    reaction = Reaction[asyncpg.Pool](
        name=name,
        topic=topic,
        codec=intake_codec,
        envelope=IntakeEnvelope,
        description="test reaction",
        handle=handler,
    )
    dead_letters = create_producer(stack.kafka)
    await dead_letters.start()
    broker = reaction_broker(stack.kafka, description="test")
    subscribe(
        broker, reaction, lambda: fresh_pool, dead_letter_parker(dead_letters), parked_in=fresh_pool
    )
    await broker.start()
    try:
        before = await until(fresh_pool, 2)
        letters: list[deadletters.DeadLetter] = []
        for _ in range(300):
            letters = [
                letter
                for letter in await deadletters.parked(stack.kafka)
                if letter.headers.get("dlq.consumer") == name
            ]
            if len(letters) >= 4:
                break
            await asyncio.sleep(0.2)
        of_a = [letter for letter in letters if letter.key == str(case_a)]
        of_b = [letter for letter in letters if letter.key == str(case_b)]
        handler.broken = False
        replayed = await deadletters.replay(stack.kafka, of_a[0])
        after = await until(fresh_pool, 4)
        await asyncio.sleep(1)  # nothing else of B may follow
        held = await fresh_pool.fetch("SELECT key FROM parked_keys")
    finally:
        await broker.stop()
        await dead_letters.stop()

    assert before == [a1[0], c1[0]]
    assert [letter.headers["dlq.reason"] for letter in of_a] == [
        "ValueError: cannot react to this event yet",
        f"behind parked {a2[0]}",
    ]
    assert of_b[0].headers["dlq.reason"].startswith("JSONDecodeError")
    assert [letter.headers["dlq.reason"] for letter in of_b[1:]] == [
        f"behind parked {unreadable_id}"
    ]
    assert [letter.value for letter in replayed] == [a2[1], a3[1]]
    assert after == [a1[0], c1[0], a2[0], a3[0]]
    assert [r["key"] for r in held] == [f"{name}:{case_b}"]
