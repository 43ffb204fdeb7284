"""The language service's command handler: load -> decide -> append."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from contracts.language import LanguageEvent
from services.chassis.commands import EventStore
from services.chassis.eventstore import AppendResult, CommandContext
from services.chassis.known_cases import KnownCases, decide_on_known_case
from services.language.authority import permit
from services.language.commands import LanguageCommand
from services.language.domain import decide, fold


@dataclass(frozen=True)
class LanguagePorts:
    """What the language service's adapters need, wired once by the composition root."""

    store: EventStore[LanguageEvent]
    cases: KnownCases | None = None  # what intake told; only its reactions go without


async def handle(
    case_id: UUID, command: LanguageCommand, context: CommandContext, ports: LanguagePorts
) -> AppendResult:
    """Apply one command to the person's language path."""
    return await decide_on_known_case(
        ports.store, ports.cases, case_id, command, context, decide=decide, fold=fold, permit=permit
    )
