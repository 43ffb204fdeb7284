"""Placement's command handler: load -> decide -> append, for HTTP commands and reactions."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from contracts.placement import PlacementEvent
from services.chassis.commands import EventStore, decide_and_append
from services.chassis.eventstore import AppendResult, CommandContext
from services.placement.commands import PlacementCommand
from services.placement.domain import decide, fold


@dataclass(frozen=True)
class PlacementPorts:
    """What placement's adapters need, wired once by the composition root."""

    store: EventStore[PlacementEvent]


async def handle(
    case_id: UUID, command: PlacementCommand, context: CommandContext, ports: PlacementPorts
) -> AppendResult:
    """Apply one placement command to the person's stream."""
    return await decide_and_append(ports.store, case_id, command, context, decide=decide, fold=fold)
