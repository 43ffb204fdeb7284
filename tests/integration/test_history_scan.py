"""A case's history on a real broker: the scan starts where the case began (its UUIDv7, on
Kafka's time index) and still finds every event of the case, also one published by a host
whose clock runs a little behind; an id that is no UUIDv7 is scanned from the beginning."""

from __future__ import annotations

import json
import time
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from aiokafka import AIOKafkaProducer

from contracts.intake import TOPIC as INTAKE_TOPIC
from contracts.topics import CODECS
from deploy.local.devstack import StackInfo
from services.chassis.ids import uuid7
from services.chassis.offsets import topic_bounds
from services.projections import history
from tests.conftest import create_topic

pytestmark = pytest.mark.kafka

PARTITIONS = 2


SAMPLE = json.loads(
    (
        Path(__file__).resolve().parents[2]
        / "contracts"
        / "samples"
        / "ip.intake.case.v1"
        / "intake.first_contact_made.v1.json"
    ).read_text()
)


def envelope(case_id: UUID, version: int) -> bytes:
    """The first-contact sample as an event of ``case_id`` (fresh event id)."""
    fields = {"event_id": str(uuid4()), "case_id": str(case_id), "stream_version": version}
    return json.dumps({**SAMPLE, **fields}).encode()


async def test_the_scan_finds_a_cases_events_from_where_it_began(
    stack: StackInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    topic = await create_topic(stack, f"t.history.{uuid4().hex[:8]}", PARTITIONS)
    monkeypatch.setitem(CODECS, topic, CODECS[INTAKE_TOPIC])  # read like intake's topic
    producer = AIOKafkaProducer(**stack.kafka.client_kwargs())
    await producer.start()
    try:
        old_case = uuid4()  # no UUIDv7: its history is scanned from the beginning
        for version in (1, 2):
            await producer.send_and_wait(
                topic, envelope(old_case, version), key=str(old_case).encode()
            )
        # Earlier traffic: an hour old by its timestamps, which the time index skips.
        an_hour_ago = time.time_ns() // 1_000_000 - 3_600_000
        for _ in range(50):
            other = str(uuid4()).encode()
            await producer.send(topic, envelope(uuid4(), 1), key=other, timestamp_ms=an_hour_ago)
        case = uuid7()
        begun = history.begun_at_ms(case)
        assert begun is not None
        # One event from a host whose clock is half a minute behind the one that stamped the id.
        await producer.send_and_wait(
            topic, envelope(case, 1), key=str(case).encode(), timestamp_ms=begun - 30_000
        )
        await producer.send_and_wait(topic, envelope(case, 2), key=str(case).encode())
        await producer.send_and_wait(topic, envelope(uuid4(), 1), key=b"after")
    finally:
        await producer.stop()
    ends = {tp: end for tp, (_, end) in (await topic_bounds(stack.kafka, [topic])).items()}
    assert sum(ends.values()) == 55

    found = await history.case_history(stack.kafka, case, [topic], PARTITIONS, ends)
    assert [(e.case_id, e.stream_version) for e in found] == [(case, 1), (case, 2)]
    found_old = await history.case_history(stack.kafka, old_case, [topic], PARTITIONS, ends)
    assert [(e.case_id, e.stream_version) for e in found_old] == [(old_case, 1), (old_case, 2)]
