"""Probing the broker as one principal: may it read or write a topic? Real fetches and
real writes; an authorisation error from the broker is the answer no."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final
from uuid import uuid4

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import ClusterAuthorizationFailedError, TopicAuthorizationFailedError

from contracts.topics import DOMAIN_TOPICS
from services.chassis.kafka import KafkaAccess
from services.chassis.relay import create_producer

INTAKE, LANGUAGE, RECOGNITION, PLACEMENT = DOMAIN_TOPICS

# A harmless event per domain topic for the writes that must succeed: a fresh case's first.
SAMPLES = Path(__file__).resolve().parents[1] / "contracts" / "samples"
PROBES: Final = {
    INTAKE: "intake.person_registered.v2.json",
    LANGUAGE: "language.entitlement_issued.v1.json",
    RECOGNITION: "recognition.counselling_held.v1.json",
    PLACEMENT: "placement.residence_facts_noted.v1.json",
}


def _probe(topic: str) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """Key, value and headers of a probe: on a domain topic, a fresh case's first event with
    the headers the relay sets, so that consumers take it like any other, not as poison."""
    if topic not in PROBES:  # the dead-letter topic, a partner's: nobody parses a probe
        return b"acl-probe", b"{}", []
    envelope: dict[str, Any] = json.loads((SAMPLES / topic / PROBES[topic]).read_text())
    case_id, event_id = str(uuid4()), str(uuid4())
    envelope |= {"event_id": event_id, "case_id": case_id}
    headers = [("event_id", event_id.encode()), ("type", str(envelope["type"]).encode())]
    return case_id.encode(), json.dumps(envelope).encode(), headers


async def can_read(access: KafkaAccess, topic: str) -> bool:
    """Fetch from the topic's first partition without a group: False on an authorisation
    error (of the metadata request, or of the fetch itself)."""
    admin = AIOKafkaAdminClient(**access.client_kwargs())
    await admin.start()
    try:
        [described] = await admin.describe_topics([topic])
    finally:
        await admin.close()
    if described["error_code"] == TopicAuthorizationFailedError.errno:
        return False
    consumer = AIOKafkaConsumer(**access.client_kwargs(), enable_auto_commit=False)
    await consumer.start()
    try:
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        consumer.seek(partition, 0)
        await consumer.getmany(partition, timeout_ms=3000)
    except TopicAuthorizationFailedError:
        return False
    finally:
        await consumer.stop()
    return True


async def can_write(access: KafkaAccess, topic: str) -> bool:
    """Produce one probe with the relay's (idempotent) producer: False on an authorisation
    error, of the topic or of the producer id (a principal that may write nowhere)."""
    producer = create_producer(access)
    try:
        await producer.start()  # a producer id is refused to who may write nowhere
        key, value, headers = _probe(topic)
        await producer.send_and_wait(topic, value, key=key, headers=headers)
    except (TopicAuthorizationFailedError, ClusterAuthorizationFailedError):
        return False
    finally:
        await producer.stop()
    return True
