"""Placement's command handler: load -> decide -> append, for HTTP commands and reactions."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from contracts.placement import PlacementEvent
from services.chassis.commands import EventStore
from services.chassis.eventstore import AppendResult, CommandContext
from services.chassis.known_cases import KnownCases, decide_on_known_case
from services.placement.authority import permit
from services.placement.commands import PlacementCommand
from services.placement.domain import decide, fold


@dataclass(frozen=True)
class PlacementPorts:
    """What placement's adapters need, wired once by the composition root."""

    store: EventStore[PlacementEvent]
    cases: KnownCases | None = None  # what intake told; only its reactions go without


async def handle(
    case_id: UUID, command: PlacementCommand, context: CommandContext, ports: PlacementPorts
) -> AppendResult:
    """Apply one placement command to the person's stream."""
    return await decide_on_known_case(
        ports.store, ports.cases, case_id, command, context, decide=decide, fold=fold, permit=permit
    )
