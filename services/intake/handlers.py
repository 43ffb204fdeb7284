"""Intake's command handler: load -> open sealed fields -> decide -> seal -> append."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol
from uuid import UUID

from contracts.envelope import Agency
from contracts.intake import IntakeEvent
from contracts.personal import personal_fields
from services.chassis.authorization import Acting
from services.chassis.commands import EventStore, decide_and_append
from services.chassis.crypto import PersonKey, seal, unseal
from services.chassis.eventstore import AppendResult, CommandContext
from services.chassis.rules import InvalidTransitionError
from services.intake.case import Case, Milestones
from services.intake.commands import EraseCategory, ErasePerson, IntakeCommand, RegisterPerson
from services.intake.domain import decide, decide_as, fold, may_rotate_key
from services.intake.milestones import KINDS_OF_CATEGORY, FactKind


class KeyStore(Protocol):
    """The port to the per-person keys."""

    async def key_for(self, case_id: UUID) -> PersonKey: ...

    async def find(self, case_id: UUID, key_id: str | None = None) -> PersonKey | None: ...

    async def ring(self, case_id: UUID) -> list[PersonKey]: ...

    async def rotate(self, case_id: UUID) -> PersonKey | None: ...

    async def lookup_for_reader(
        self, reader: str, case_id: UUID, key_id: str | None = None
    ) -> PersonKey | None: ...

    async def erase(self, case_id: UUID) -> None: ...


class MilestoneStore(Protocol):
    """The port to what intake learned from the other services."""

    async def for_case(self, case_id: UUID) -> Milestones: ...

    async def forget(self, case_id: UUID, kinds: frozenset[FactKind]) -> None: ...


@dataclass(frozen=True)
class IntakePorts:
    """What intake's adapters need, wired once by the composition root."""

    store: EventStore[IntakeEvent]
    keys: KeyStore
    milestones: MilestoneStore
    key_clients: frozenset[str]  # the provider's clients that may fetch person keys


async def handle(
    case_id: UUID, command: IntakeCommand, context: CommandContext, ports: IntakePorts
) -> AppendResult:
    """Apply one intake command; personal fields leave this function sealed."""
    # Only a registration mints a key: a command for an unknown case must not leave one.
    if isinstance(command, RegisterPerson):
        key: PersonKey | None = await ports.keys.key_for(case_id)
    else:
        key = await ports.keys.find(case_id)
    # The history may be sealed with retired keys too: each event opens with the one it names.
    ring = await ports.keys.ring(case_id) if key is not None else []
    milestones = await ports.milestones.for_case(case_id)

    def opened_case(stream: UUID, history: Iterable[IntakeEvent]) -> Case | None:
        events = (unseal(event, *ring) for event in history) if ring else history
        case = fold(stream, events)
        # Who acts and what the other services reported are facts of this command, not of
        # the stream: the decider sees them through the case.
        return None if case is None else replace(case, acting=context.agency, milestones=milestones)

    def sealed(events: Sequence[IntakeEvent]) -> Sequence[IntakeEvent]:
        if key is not None:
            return [seal(event, key) for event in events]
        if any(personal_fields(type(event)) for event in events):
            raise LookupError(f"no key to seal the personal data of case {case_id}")
        return events

    def decide_for_actor(case: Case | None, command: IntakeCommand) -> list[IntakeEvent]:
        # A signed-in person meets the table of who may issue what; intake's own processes
        # (none issue commands today but the retention job, which signs as data protection)
        # decide on the state alone.
        if context.actor is None:
            return decide(case, command)
        return decide_as(case, command, Acting(context.agency, context.actor.role))

    result = await decide_and_append(
        ports.store,
        case_id,
        command,
        context,
        decide=decide_for_actor,
        fold=opened_case,
        finish=sealed,
    )
    if isinstance(command, ErasePerson):
        # After the event is stored (a refusal must not erase); repeated on a replay, so a
        # crash between the two leaves nothing half done.
        await ports.keys.erase(case_id)
    if isinstance(command, EraseCategory):
        # Intake's own copy of the category (for the hand-over package) goes with it.
        await ports.milestones.forget(case_id, KINDS_OF_CATEGORY.get(command.category, frozenset()))
    return result


async def rotate_key(case_id: UUID, agency: Agency, ports: IntakePorts) -> PersonKey:
    """A new current key for the person: later events are sealed with it, nothing already
    published is re-encrypted (each value names the key that opens it)."""
    history = await ports.store.load(case_id)
    may_rotate_key(fold(case_id, (envelope.data for envelope in history)), agency)
    key = await ports.keys.rotate(case_id)
    if key is None:  # erased between the check and the rotation
        raise InvalidTransitionError("case.erased", "the person's keys were erased")
    return key
