"""A case's history scan that stalls is dropped and started over with a new consumer."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any
from uuid import UUID, uuid4

import pytest
from aiokafka import TopicPartition

from contracts.envelope import Envelope
from services.chassis.ids import uuid7
from services.chassis.kafka import KafkaAccess
from services.projections import history


async def test_a_stalled_scan_is_started_over(monkeypatch: pytest.MonkeyPatch) -> None:
    attempts: list[int] = []

    async def scan(
        _reader: history.HistoryReader,
        _key: bytes,
        bounds: Mapping[TopicPartition, int],
        _since: int | None,
    ) -> list[Envelope[Any]]:
        attempts.append(len(bounds))
        if len(attempts) == 1:
            await asyncio.sleep(3600)  # the consumer that fetches nothing
        return []

    monkeypatch.setattr(history.HistoryReader, "_scan", scan)
    monkeypatch.setattr(history, "ATTEMPT_SECONDS", 0.05)
    case = uuid4()
    tp = TopicPartition("ip.intake.case.v1", history.partition_of(case, 6))
    found = await history.case_history(KafkaAccess("127.0.0.1:1"), case, [tp.topic], 6, {tp: 3})
    assert found == []
    assert attempts == [1, 1]


async def test_a_scan_that_never_finishes_gives_up(monkeypatch: pytest.MonkeyPatch) -> None:
    async def scan(*_: object) -> list[Envelope[Any]]:
        await asyncio.sleep(3600)
        return []

    monkeypatch.setattr(history.HistoryReader, "_scan", scan)
    monkeypatch.setattr(history, "ATTEMPT_SECONDS", 0.01)
    case = uuid4()
    tp = TopicPartition("ip.intake.case.v1", history.partition_of(case, 6))
    with pytest.raises(TimeoutError, match="no scan finished"):
        await history.case_history(KafkaAccess("127.0.0.1:1"), case, [tp.topic], 6, {tp: 3})


def test_a_case_began_when_its_uuid7_was_stamped() -> None:
    before = time.time_ns() // 1_000_000
    case = uuid7()
    after = time.time_ns() // 1_000_000
    began = history.begun_at_ms(case)
    assert began is not None
    assert before <= began <= after


def test_an_id_that_is_no_uuid7_says_nothing_of_when_the_case_began() -> None:
    assert history.begun_at_ms(uuid4()) is None
    assert history.begun_at_ms(UUID(int=0)) is None
