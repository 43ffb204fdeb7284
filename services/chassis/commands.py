"""Running a command against a stream: load, decide, append; retry on a version conflict."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol, TypeVar
from uuid import UUID

from pydantic import BaseModel

from contracts.envelope import Envelope
from services.chassis.eventstore import AppendResult, CommandContext, VersionConflictError

Payload = TypeVar("Payload", bound=BaseModel)
Command = TypeVar("Command", bound=BaseModel)
State = TypeVar("State")

MAX_ATTEMPTS = 8


class EventStore(Protocol[Payload]):
    """The port a command handler needs from the event store."""

    async def load(self, stream_id: UUID) -> list[Envelope[Payload]]: ...

    async def handled(self, context: CommandContext) -> AppendResult | None: ...

    def exclusive(self, stream_id: UUID) -> AbstractAsyncContextManager[None]:
        """Writers of ``stream_id`` that hold this take turns (after a conflict)."""
        ...

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
    earlier = await store.handled(context)
    if earlier is not None:
        return earlier
    history = await store.load(stream_id)
    try:
        return await store.append(stream_id, len(history), decide(history), context)
    except VersionConflictError:
        pass
    # Contended: queue up behind the stream's other writers instead of racing them again.
    # While the turn is held, others' first tries queue too; the attempts cover writers that
    # do not take turns (an older process during a deploy).
    async with store.exclusive(stream_id):
        for _ in range(MAX_ATTEMPTS):
            history = await store.load(stream_id)
            try:
                return await store.append(stream_id, len(history), decide(history), context)
            except VersionConflictError:
                continue
    raise VersionConflictError(stream_id, -1)


async def decide_and_append(
    store: EventStore[Payload],
    case_id: UUID,
    command: Command,
    context: CommandContext,
    *,
    decide: Callable[[State | None, Command], Sequence[Payload]],
    fold: Callable[[UUID, Iterable[Payload]], State | None],
    finish: Callable[[Sequence[Payload]], Sequence[Payload]] = lambda events: events,
) -> AppendResult:
    """The usual handler: fold the stream, let the pure decider answer, ``finish`` the events
    (intake seals personal fields there), append; refusals propagate unchanged."""

    def decide_on(history: list[Envelope[Payload]]) -> Sequence[Payload]:
        state = fold(case_id, (envelope.data for envelope in history))
        return finish(decide(state, command))

    return await run_command(store, case_id, decide_on, context)
