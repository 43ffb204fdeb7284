"""Where topics begin and end now: the measure of lag and of a rebuild's work."""

from __future__ import annotations

from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from services.chassis.kafka import KafkaAccess


async def topic_bounds(
    kafka: KafkaAccess, topics: Sequence[str]
) -> dict[TopicPartition, tuple[int, int]]:
    """(beginning, end) offset of every partition of ``topics``.

    The partitions come from the admin client: a bare consumer knows a topic's partitions
    only after it fetched offsets for them.
    """
    admin = AIOKafkaAdminClient(**kafka.client_kwargs())
    await admin.start()
    try:
        described = await admin.describe_topics(list(topics))
    finally:
        await admin.close()
    partitions = [
        TopicPartition(topic["topic"], part["partition"])
        for topic in described
        for part in topic["partitions"]
    ]
    consumer = AIOKafkaConsumer(**kafka.client_kwargs())
    await consumer.start()
    try:
        begins = await consumer.beginning_offsets(partitions)
        ends = await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()
    return {tp: (begins[tp], ends[tp]) for tp in partitions}
