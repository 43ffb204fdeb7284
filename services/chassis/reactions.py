"""Reactions: a service's subscribers to other services' topics, on FastStream.

A reaction turns an event into a command on the service's own stream, with an idempotency
key derived from the event id, so a redelivered event changes nothing: exactly-once effect
on top of at-least-once delivery. Messages arrive in batches and the offsets are committed
once per batch, after handling (never before, as FastStream's default would: a commit per
message caps a consumer at a few hundred messages a second here). A transient failure nacks
the batch, so it is read again; a message that cannot be parsed or handled is parked on the
dead-letter topic with its reason and origin, the case's later messages are parked behind it
(``services.chassis.parking``: per-case order holds), and the other cases go on.

(No ``from __future__ import annotations``: FastStream reads the handler's annotations at
run time.)
"""

import json
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from uuid import UUID

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.structs import ConsumerRecord
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.message import StreamMessage
from opentelemetry import propagate, trace
from pydantic import BaseModel

from contracts.codec import TopicCodec
from contracts.envelope import Agency, Envelope
from contracts.topics import DEAD_LETTER_TOPIC
from services.chassis.eventstore import CommandContext
from services.chassis.kafka import KafkaAccess
from services.chassis.metrics import DEAD_LETTERS
from services.chassis.parking import CaseParking, Db
from services.chassis.projection import TRANSIENT_ERRORS

log = structlog.get_logger("reactions")
tracer = trace.get_tracer("services.chassis.reactions")

Ports = TypeVar("Ports")
MAX_BATCH = 500


@dataclass(frozen=True)
class Reaction(Generic[Ports]):
    """One subscription: ``name`` is its consumer group and the namespace of its keys."""

    name: str
    topic: str
    codec: TopicCodec[Any]
    envelope: type[BaseModel]  # what FastStream validates against and documents
    description: str
    handle: Callable[[Envelope[Any], Ports], Awaitable[object]]


def reaction_key(event_id: object, reaction: str) -> str:
    """The idempotency key of the command a reaction issues for an event."""
    return f"reaction:{reaction}:{event_id}"


def reaction_context(
    envelope: Envelope[Any], reaction: str, agency: Agency | None = None
) -> CommandContext:
    """The command context of a reaction: keyed by the event, in the event's correlation."""
    return CommandContext(
        idempotency_key=reaction_key(envelope.event_id, reaction),
        agency=agency or envelope.agency,
        correlation_id=envelope.correlation_id,
        causation_id=envelope.event_id,
    )


@contextmanager
def reaction_span(
    envelope: Envelope[Any], reaction: str, topic: str, headers: dict[str, str] | None = None
) -> Iterator[None]:
    """A consumer span continuing the trace: after the relay's publish span when the Kafka
    headers carry it, else after the command that appended the event."""
    carrier = headers or envelope.trace.model_dump(exclude_none=True)
    with tracer.start_as_current_span(
        f"react {reaction}",
        context=propagate.extract(carrier),
        kind=trace.SpanKind.CONSUMER,
        attributes={
            "ip.reaction": reaction,
            "messaging.system": "kafka",
            "messaging.destination.name": topic,
            "ip.case_id": str(envelope.case_id),
            "ip.event_id": str(envelope.event_id),
            "ip.event_type": envelope.type,
        },
    ):
        yield


Park = Callable[[ConsumerRecord[bytes, bytes], str, str], Awaitable[None]]


def dead_letter_parker(producer: AIOKafkaProducer | None) -> Park:
    """Park a record on the dead-letter topic with its reason and origin in headers."""

    async def park(record: ConsumerRecord[bytes, bytes], consumer: str, reason: str) -> None:
        if producer is None:
            raise RuntimeError(f"cannot park, no producer: {reason}")
        headers = {name: value.decode(errors="replace") for name, value in record.headers}
        headers |= {
            "dlq.reason": reason[:1000],
            "dlq.consumer": consumer,
            "dlq.topic": record.topic,
            "dlq.partition": str(record.partition),
            "dlq.offset": str(record.offset),
        }
        DEAD_LETTERS.labels(consumer).inc()
        await producer.send_and_wait(
            DEAD_LETTER_TOPIC,
            value=record.value,
            key=record.key,
            headers=[(name, value.encode()) for name, value in headers.items()],
        )
        log.warning(
            "reaction.parked",
            consumer=consumer,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            reason=reason[:200],
        )

    return park


def subscribe(
    broker: KafkaBroker,
    reaction: Reaction[Ports],
    ports: Callable[[], Ports],
    park: Park,
    parked_in: Db | None = None,
) -> None:
    """Subscribe ``reaction`` on ``broker``, in batches. A message that cannot be handled is
    parked; with ``parked_in`` (the service's database) the case's later messages are parked
    behind it until a replay releases the case (without: per message, as for a document)."""
    codec = reaction.codec
    parking = CaseParking(reaction.name)

    def refusal(record: ConsumerRecord[bytes, bytes]) -> str | None:
        """Why the record is no envelope of the topic, or None when it is one."""
        try:
            codec.adapter.validate_python(codec.upcast(json.loads(record.value or b"")))
        except (ValueError, KeyError, TypeError) as error:  # pydantic's errors are ValueErrors
            return f"{type(error).__name__}: {error}"
        return None

    async def decode(message: StreamMessage[Any]) -> list[dict[str, Any]]:
        # Unreadable records are left out here and parked in order by ``on_batch``.
        return [
            codec.upcast(json.loads(record.value or b""))
            for record in message.raw_message
            if refusal(record) is None
        ]

    async def on_batch(envelopes: list[Any], message: KafkaMessage) -> None:
        by_id = {str(envelope.event_id): envelope for envelope in envelopes}
        records = message.raw_message
        cases = {(record.key or b"").decode(errors="replace") for record in records}
        holding = await parking.held(parked_in, cases) if parked_in is not None else {}
        for record in records:
            case = (record.key or b"").decode(errors="replace")
            headers = {name: value.decode(errors="replace") for name, value in record.headers}
            envelope = by_id.get(_event_id(record))
            event_id = envelope.event_id if envelope is not None else _header_id(headers)
            if (
                parked_in is not None
                and case in holding
                and not await parking.releases(parked_in, case, event_id, headers, holding)
            ):
                await park(record, reaction.name, f"behind parked {holding[case]}")
                continue
            if envelope is None:
                reason = refusal(record) or "no envelope"
            else:
                try:
                    with reaction_span(envelope, reaction.name, reaction.topic, headers):
                        await reaction.handle(envelope, ports())
                    continue
                except TRANSIENT_ERRORS:
                    raise  # the whole batch is read again; reactions are idempotent
                except Exception as error:  # noqa: BLE001  # parked with its reason
                    reason = f"{type(error).__name__}: {error}"
            await park(record, reaction.name, reason)
            if parked_in is not None:
                await parking.hold(parked_in, case, event_id)
                holding.setdefault(case, str(event_id))

    # FastStream validates (and documents) the batch against the reaction's own envelope.
    on_batch.__annotations__["envelopes"] = list[reaction.envelope]  # type: ignore[name-defined]
    broker.subscriber(
        reaction.topic,
        group_id=reaction.name,
        batch=True,
        max_records=MAX_BATCH,
        batch_timeout_ms=100,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        auto_offset_reset="earliest",
        decoder=decode,
        title=reaction.name,
        description=reaction.description,
    )(on_batch)


def _header_id(headers: dict[str, str]) -> UUID | None:
    try:
        return UUID(headers["event_id"])
    except (KeyError, ValueError):
        return None


def _event_id(record: ConsumerRecord[bytes, bytes]) -> str:
    """The event id a record's body names (its header may be missing; the body parsed)."""
    try:
        return str(json.loads(record.value or b"").get("event_id", ""))
    except (ValueError, AttributeError):
        return ""


def reaction_broker(kafka: KafkaAccess, *, description: str) -> KafkaBroker:
    """A broker for a service's reactions; nothing is auto-created."""
    return KafkaBroker(
        kafka.bootstrap,
        security=kafka.faststream_security(),
        allow_auto_create_topics=False,
        description=description,
        logger=None,
    )
