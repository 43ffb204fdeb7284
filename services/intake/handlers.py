"""Intake's command handler: load -> decide -> seal personal fields -> append."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from contracts.intake import IntakeEvent
from contracts.personal import personal_fields
from services.chassis.commands import EventStore, decide_and_append
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
    case_id: UUID, command: IntakeCommand, context: CommandContext, ports: IntakePorts
) -> AppendResult:
    """Apply one intake command; personal fields leave this function sealed."""
    # Only a registration mints a key: a command for an unknown case must not leave one.
    if isinstance(command, RegisterPerson):
        key: PersonKey | None = await ports.keys.key_for(case_id)
    else:
        key = await ports.keys.find(case_id)

    def sealed(events: Sequence[IntakeEvent]) -> Sequence[IntakeEvent]:
        if key is not None:
            return [seal(event, key) for event in events]
        if any(personal_fields(type(event)) for event in events):
            raise LookupError(f"no key to seal the personal data of case {case_id}")
        return events

    return await decide_and_append(
        ports.store, case_id, command, context, decide=decide, fold=fold, finish=sealed
    )
