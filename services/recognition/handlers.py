"""Recognition's command handler: load -> decide -> append."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from contracts.recognition import RecognitionEvent
from services.chassis.commands import EventStore
from services.chassis.eventstore import AppendResult, CommandContext
from services.chassis.known_cases import KnownCases, decide_on_known_case
from services.recognition.authority import permit
from services.recognition.commands import RecognitionCommand
from services.recognition.domain import decide, fold


@dataclass(frozen=True)
class RecognitionPorts:
    """What recognition's adapters need, wired once by the composition root."""

    store: EventStore[RecognitionEvent]
    cases: KnownCases | None = None  # what intake told; only its reactions go without


async def handle(
    case_id: UUID, command: RecognitionCommand, context: CommandContext, ports: RecognitionPorts
) -> AppendResult:
    """Apply one recognition command to the case's stream."""
    return await decide_on_known_case(
        ports.store, ports.cases, case_id, command, context, decide=decide, fold=fold, permit=permit
    )
