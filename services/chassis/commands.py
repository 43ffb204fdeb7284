"""Running a command against a stream: load, decide, append; retry on a version conflict."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar
from uuid import UUID

from pydantic import BaseModel

from contracts.envelope import Envelope
from services.chassis.eventstore import AppendResult, CommandContext, VersionConflictError

Payload = TypeVar("Payload", bound=BaseModel)

MAX_ATTEMPTS = 8


class EventStore(Protocol[Payload]):
    """The port a command handler needs from the event store."""

    async def load(self, stream_id: UUID) -> list[Envelope[Payload]]: ...

    async def handled(self, idempotency_key: str) -> AppendResult | None: ...

    async def append(
        self,
        stream_id: UUID,
        expected_version: int,
        payloads: Sequence[Payload],
        context: CommandContext,
    ) -> AppendResult: ...


async def run_command(
    store: EventStore[Payload],
    stream_id: UUID,
    decide: Callable[[list[Envelope[Payload]]], Sequence[Payload]],
    context: CommandContext,
) -> AppendResult:
    """Apply a command once, however often it arrives and whoever else writes the stream.

    ``decide`` sees the current history and may raise the domain's refusal; it is called
    again after every conflict, because the history it decided on is stale then.
    """
    earlier = await store.handled(context.idempotency_key)
    if earlier is not None:
        return earlier
    for _ in range(MAX_ATTEMPTS):
        history = await store.load(stream_id)
        try:
            return await store.append(stream_id, len(history), decide(history), context)
        except VersionConflictError:
            continue
    raise VersionConflictError(stream_id, -1)
