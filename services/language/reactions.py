"""The language service's reaction to intake: when a hand-over is accepted, the entitlements
the handing-over agency issued move to the receiving agency; enrolments carry on.

(No ``from __future__ import annotations`` here: FastStream reads the handler's parameter
annotation at run time to validate the message.)
"""

from typing import Any, Final

import structlog

from contracts.envelope import Envelope
from contracts.intake import TOPIC as INTAKE_TOPIC
from contracts.intake import HandOverAccepted, IntakeEnvelope, IntakeEvent, intake_codec
from contracts.language import LanguageEvent
from services.chassis.commands import EventStore
from services.chassis.eventstore import AppendResult, CommandContext
from services.chassis.reactions import Reaction, reaction_key
from services.chassis.service import WriteSide
from services.language.commands import TransferEntitlements
from services.language.domain import decide, fold
from services.language.handlers import LanguagePorts, handle

REACTION: Final = "language.hand-over"
log = structlog.get_logger("language.reactions")


def transfer_for(envelope: Envelope[IntakeEvent]) -> TransferEntitlements | None:
    """The command an intake event asks of the language path; None for all but a hand-over
    to another agency. A hand-over that keeps the agency (the Jugendberufsagentur route hands
    a young person from the Agentur's team to its U25 team, AA-MG to AA-MG) leaves the
    entitlements where they are: the issuer is the agency, and it stays."""
    match envelope.data:
        case HandOverAccepted() as accepted if accepted.from_agency is not accepted.to_agency:
            return TransferEntitlements(
                handover_id=accepted.handover_id,
                from_agency=accepted.from_agency,
                to_agency=accepted.to_agency,
                effective_on=accepted.accepted_on,
            )
    return None


async def follow_hand_over(
    envelope: Envelope[IntakeEvent], store: EventStore[LanguageEvent]
) -> AppendResult | None:
    """Record the issuer changes a hand-over implies, once however often it is delivered.

    A person the language service never saw, or whose entitlements none of them moves, leaves
    no trace: nothing is appended.
    """
    command = transfer_for(envelope)
    if command is None:
        return None
    history = await store.load(envelope.case_id)
    if not decide(fold(envelope.case_id, (e.data for e in history)), command):
        return None
    context = CommandContext(
        idempotency_key=reaction_key(envelope.event_id, REACTION),
        agency=command.to_agency,
        correlation_id=envelope.correlation_id,
        causation_id=envelope.event_id,
    )
    result = await handle(envelope.case_id, command, context, LanguagePorts(store))
    log.info(
        "hand_over.followed",
        case_id=str(envelope.case_id),
        handover_id=str(command.handover_id),
        replayed=result.replayed,
    )
    return result


async def _follow(envelope: Envelope[Any], write_side: WriteSide[Any]) -> None:
    await follow_hand_over(envelope, write_side.store)


HAND_OVER = Reaction[WriteSide[Any]](
    name=REACTION,
    topic=INTAKE_TOPIC,
    codec=intake_codec,
    envelope=IntakeEnvelope,
    description="A hand-over accepted moves the Agentur's or Jobcenter's entitlements "
    "to the receiving agency; other intake events are ignored.",
    handle=_follow,
)
