"""A case's history read back from the topics, for a view that may see it only now.

Kafka keeps every event, keyed by case id; the producers' partitioner puts all of a case's
events of one topic into one partition. So the history of one case is a scan of one
partition per topic, up to the positions the view has already passed, never a whole topic.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.partitioner import murmur2

from contracts.envelope import Envelope
from contracts.topics import CODECS
from services.chassis.kafka import KafkaAccess

log = structlog.get_logger("history")

# A scan of one partition per topic takes well under a second at today's sizes. A consumer
# that makes no progress for this long (seen once after a broker restart: a fresh consumer
# fetching nothing, so the view's batch waited for ever) is dropped and the scan starts over
# with a new one.
ATTEMPT_SECONDS = 60.0
ATTEMPTS = 5


def partition_of(case_id: UUID, partitions: int) -> int:
    """The partition Kafka's default partitioner gives the key ``case_id``."""
    return int((murmur2(str(case_id).encode()) & 0x7FFFFFFF) % partitions)


async def case_history(
    kafka: KafkaAccess,
    case_id: UUID,
    topics: Sequence[str],
    partitions: int,
    before: Mapping[TopicPartition, int],
) -> list[Envelope[Any]]:
    """The case's events on ``topics`` at offsets below ``before`` (per partition), in
    occurrence order; partitions without a bound are not read."""
    wanted = [TopicPartition(t, partition_of(case_id, partitions)) for t in topics]
    bounds = {tp: before[tp] for tp in wanted if before.get(tp, 0) > 0}
    if not bounds:
        return []
    for attempt in range(1, ATTEMPTS + 1):
        try:
            async with asyncio.timeout(ATTEMPT_SECONDS):
                found = await _scan(kafka, str(case_id).encode(), bounds)
        except TimeoutError:
            log.warning("history.scan_stalled", case_id=str(case_id), attempt=attempt)
            continue
        return sorted(found, key=lambda e: (e.occurred_at, e.stream_version))
    raise TimeoutError(f"history of {case_id}: no scan finished in {ATTEMPTS} attempts")


async def _scan(
    kafka: KafkaAccess, key: bytes, bounds: Mapping[TopicPartition, int]
) -> list[Envelope[Any]]:
    consumer = AIOKafkaConsumer(**kafka.client_kwargs(), enable_auto_commit=False)
    await consumer.start()
    found: list[Envelope[Any]] = []
    try:
        consumer.assign(list(bounds))
        await consumer.seek_to_beginning(*bounds)
        for partition, bound in bounds.items():
            while await consumer.position(partition) < bound:
                batch = await consumer.getmany(partition, timeout_ms=1000, max_records=2000)
                found.extend(
                    CODECS[partition.topic].parse(record.value or b"")
                    for record in batch.get(partition, [])
                    if record.offset < bound and record.key == key
                )
    finally:
        await consumer.stop()
    return found
