"""A case's history read back from the topics, for a view that may see it only now.

Kafka keeps every event, keyed by case id; the producers' partitioner puts all of a case's
events of one topic into one partition. So the history of one case is a scan of one
partition per topic, up to the positions the view has already passed, never a whole topic.
The scan starts where the case began: a case id is a UUIDv7 stamped at registration, and no
event of the case was published before it, so Kafka's time index gives the first offset that
can hold one (a scan from the beginning cost a view's catch-up time quadratic in the topics).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from contextlib import suppress
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
# How far the clock of the host that published an event may lag behind the clock of the one
# that stamped the case id: the scan starts this much earlier.
CLOCK_SKEW_MS = 60 * 1000


def begun_at_ms(case_id: UUID) -> int | None:
    """When the case was registered (Unix milliseconds), if its id says so (a UUIDv7)."""
    if case_id.version != 7:  # RFC 9562's version number
        return None
    return case_id.int >> 80


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
    """One case's history with a consumer of its own (see ``HistoryReader.case_history``)."""
    async with HistoryReader(kafka) as reader:
        return await reader.case_history(case_id, topics, partitions, before)


class HistoryReader:
    """Reads cases' histories, one at a time, with one consumer kept between them: starting a
    consumer (connection, SASL handshake, metadata) cost more than the scan itself."""

    def __init__(self, kafka: KafkaAccess) -> None:
        self._kafka = kafka
        self._consumer: AIOKafkaConsumer | None = None
        self._turn = asyncio.Lock()

    async def __aenter__(self) -> HistoryReader:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def close(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            with suppress(Exception):  # a stalled consumer is dropped whatever it says
                await consumer.stop()

    async def case_history(
        self,
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
        key = str(case_id).encode()
        async with self._turn:
            for attempt in range(1, ATTEMPTS + 1):
                try:
                    async with asyncio.timeout(ATTEMPT_SECONDS):
                        found = await self._scan(key, bounds, begun_at_ms(case_id))
                except TimeoutError:
                    log.warning("history.scan_stalled", case_id=str(case_id), attempt=attempt)
                    await self.close()  # the next attempt starts a new consumer
                    continue
                return sorted(found, key=lambda e: (e.occurred_at, e.stream_version))
        raise TimeoutError(f"history of {case_id}: no scan finished in {ATTEMPTS} attempts")

    async def _started(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            consumer = AIOKafkaConsumer(**self._kafka.client_kwargs(), enable_auto_commit=False)
            await consumer.start()
            self._consumer = consumer
        return self._consumer

    async def _scan(
        self, key: bytes, bounds: Mapping[TopicPartition, int], begun_ms: int | None
    ) -> list[Envelope[Any]]:
        consumer = await self._started()
        consumer.assign(list(bounds))
        await consumer.seek_to_beginning(*bounds)
        if begun_ms is not None:
            since = max(begun_ms - CLOCK_SKEW_MS, 0)
            starts = await consumer.offsets_for_times(dict.fromkeys(bounds, since))
            for partition, start in starts.items():
                # None: nothing published since; the beginning is the safe answer then.
                if start is not None:
                    consumer.seek(partition, start.offset)
        found: list[Envelope[Any]] = []
        for partition, bound in bounds.items():
            while await consumer.position(partition) < bound:
                batch = await consumer.getmany(partition, timeout_ms=1000, max_records=2000)
                found.extend(
                    CODECS[partition.topic].parse(record.value or b"")
                    for record in batch.get(partition, [])
                    if record.offset < bound and record.key == key
                )
        return found
