"""The event-store port in memory, for fast tests of handlers and reactions (the real store
has its own suite against PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import Generic, TypeVar
from uuid import UUID, uuid4

from pydantic import BaseModel

from contracts.codec import TopicCodec
from contracts.envelope import Envelope
from services.chassis.eventstore import (
    AppendResult,
    CommandContext,
    IdempotencyKeyReusedError,
    VersionConflictError,
)

Payload = TypeVar("Payload", bound=BaseModel)


class MemoryStore(Generic[Payload]):
    """Streams, idempotency keys and optimistic versions, as the PostgreSQL store keeps them."""

    def __init__(
        self, codec: TopicCodec[Payload], occurred_at: datetime = datetime(2016, 9, 1, tzinfo=UTC)
    ) -> None:
        self.streams: dict[UUID, list[Envelope[Payload]]] = {}
        self.keys: dict[str, tuple[AppendResult, str | None]] = {}
        self._codec = codec
        self._locks: dict[UUID, asyncio.Lock] = {}
        self._occurred_at = occurred_at

    @asynccontextmanager
    async def exclusive(self, stream_id: UUID) -> AsyncIterator[None]:
        async with self._locks.setdefault(stream_id, asyncio.Lock()):
            yield

    async def load(self, stream_id: UUID) -> list[Envelope[Payload]]:
        return list(self.streams.get(stream_id, []))

    async def handled(self, context: CommandContext) -> AppendResult | None:
        if (earlier := self.keys.get(context.idempotency_key)) is None:
            return None
        result, request_hash = earlier
        if (
            None not in (request_hash, context.request_hash)
            and request_hash != context.request_hash
        ):
            raise IdempotencyKeyReusedError(context.idempotency_key)
        return replace(result, replayed=True)

    async def append(
        self,
        stream_id: UUID,
        expected_version: int,
        payloads: Sequence[Payload],
        context: CommandContext,
    ) -> AppendResult:
        if (earlier := await self.handled(context)) is not None:
            return earlier
        stream = self.streams.setdefault(stream_id, [])
        if len(stream) != expected_version:
            raise VersionConflictError(stream_id, expected_version)
        for payload in payloads:
            data: object = payload
            stream.append(
                self._codec.adapter.validate_python(
                    {
                        "event_id": uuid4(),
                        "case_id": stream_id,
                        "stream_version": len(stream) + 1,
                        "type": getattr(data, "type", ""),
                        "schema_version": getattr(data, "schema_version", 1),
                        "occurred_at": self._occurred_at,
                        "agency": context.agency,
                        "correlation_id": context.correlation_id,
                        "causation_id": context.causation_id,
                        "actor": context.actor,
                        "data": payload,
                    }
                )
            )
        result = AppendResult(stream_id, expected_version + 1, len(stream), False)
        self.keys[context.idempotency_key] = (result, context.request_hash)
        return result
