"""Reactions: a service's subscribers to other services' topics, on FastStream.

A reaction turns an event into a command on the service's own stream, with an idempotency
key derived from the event id, so a redelivered event changes nothing: exactly-once effect
on top of at-least-once delivery. Offsets are committed after handling (never before, as
FastStream's default would); a transient failure nacks, so the message is read again; any
other failure parks the message on the dead-letter topic with its reason and moves on.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

import structlog
from aiokafka import AIOKafkaProducer
from faststream import AckPolicy, BaseMiddleware
from faststream.kafka import KafkaBroker
from faststream.message import StreamMessage

from contracts.codec import TopicCodec
from contracts.topics import DEAD_LETTER_TOPIC
from services.chassis.projection import TRANSIENT_ERRORS

log = structlog.get_logger("reactions")

# Commit only after the handler finished; on an exception that escapes the dead-letter
# middleware (a transient one) the message is nacked and read again.
REACTION_ACK_POLICY = AckPolicy.NACK_ON_ERROR


def reaction_key(event_id: UUID, reaction: str) -> str:
    """The idempotency key of the command a reaction issues for an event."""
    return f"reaction:{reaction}:{event_id}"


def upcasting_decoder(codec: TopicCodec[Any]) -> Callable[[StreamMessage[Any]], Awaitable[Any]]:
    """A FastStream decoder that brings old event versions to the current one."""

    async def decode(message: StreamMessage[Any]) -> Any:
        return codec.upcast(json.loads(message.body))

    return decode


def dead_letter_middleware(
    consumer: str, producer: AIOKafkaProducer | None
) -> type[BaseMiddleware]:
    """A middleware class that parks what cannot be handled, with reason and origin."""

    class DeadLetters(BaseMiddleware):
        async def consume_scope(
            self, call_next: Callable[[StreamMessage[Any]], Awaitable[Any]], msg: StreamMessage[Any]
        ) -> Any:
            try:
                return await call_next(msg)
            except TRANSIENT_ERRORS:
                raise
            except Exception as error:  # anything else is parked with its reason
                if producer is None:
                    raise  # a broker built only to describe itself never consumes
                await _park(producer, consumer, msg, f"{type(error).__name__}: {error}")
                return None

    return DeadLetters


async def _park(
    producer: AIOKafkaProducer, consumer: str, msg: StreamMessage[Any], reason: str
) -> None:
    record = msg.raw_message
    headers = {name: value.decode(errors="replace") for name, value in record.headers}
    headers |= {
        "dlq.reason": reason[:1000],
        "dlq.consumer": consumer,
        "dlq.topic": record.topic,
        "dlq.partition": str(record.partition),
        "dlq.offset": str(record.offset),
    }
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


def reaction_broker(
    bootstrap: str, consumer: str, producer: AIOKafkaProducer | None, *, description: str
) -> KafkaBroker:
    """A broker for a service's reactions: dead letters parked, nothing auto-created."""
    return KafkaBroker(
        bootstrap,
        middlewares=(dead_letter_middleware(consumer, producer),),
        allow_auto_create_topics=False,
        acks="all",
        enable_idempotence=True,
        description=description,
        logger=None,
    )
