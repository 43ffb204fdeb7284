"""Intake's command handlers: load -> decide -> seal personal fields -> append."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from contracts.envelope import Envelope
from contracts.intake import IntakeEvent
from contracts.personal import personal_fields
from services.chassis.commands import EventStore, run_command
from services.chassis.crypto import PersonKey, seal
from services.chassis.eventstore import AppendResult, CommandContext
from services.intake.commands import IntakeCommand, RegisterPerson
from services.intake.domain import decide, fold


class KeyStore(Protocol):
    """The port to the per-person keys."""

    async def key_for(self, case_id: UUID) -> PersonKey: ...

    async def find(self, case_id: UUID) -> PersonKey | None: ...

    async def lookup_for_reader(self, reader: str, case_id: UUID) -> PersonKey | None: ...


@dataclass(frozen=True)
class IntakePorts:
    """What intake's adapters need, wired once by the composition root."""

    store: EventStore[IntakeEvent]
    keys: KeyStore
    key_readers: dict[str, str]


async def handle(
    command: IntakeCommand,
    context: CommandContext,
    store: EventStore[IntakeEvent],
    keys: KeyStore,
) -> AppendResult:
    """Apply one intake command; personal fields leave this function sealed."""
    # Only a registration mints a key: a command for an unknown case must not leave one.
    if isinstance(command, RegisterPerson):
        key: PersonKey | None = await keys.key_for(command.case_id)
    else:
        key = await keys.find(command.case_id)

    def decide_sealed(history: list[Envelope[IntakeEvent]]) -> Sequence[IntakeEvent]:
        case = fold(command.case_id, (envelope.data for envelope in history))
        events = decide(case, command)
        if key is None:
            if any(personal_fields(type(event)) for event in events):
                raise LookupError(f"no key to seal the personal data of case {command.case_id}")
            return events
        return [seal(event, key) for event in events]

    return await run_command(store, command.case_id, decide_sealed, context)
