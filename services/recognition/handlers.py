"""Recognition's command handler: load -> decide -> append."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from contracts.recognition import RecognitionEvent
from services.chassis.commands import EventStore, decide_and_append
from services.chassis.eventstore import AppendResult, CommandContext
from services.recognition.commands import RecognitionCommand
from services.recognition.domain import decide, fold


@dataclass(frozen=True)
class RecognitionPorts:
    """What recognition's adapters need, wired once by the composition root."""

    store: EventStore[RecognitionEvent]


async def handle(
    case_id: UUID, command: RecognitionCommand, context: CommandContext, ports: RecognitionPorts
) -> AppendResult:
    """Apply one recognition command to the case's stream."""
    return await decide_and_append(ports.store, case_id, command, context, decide=decide, fold=fold)
