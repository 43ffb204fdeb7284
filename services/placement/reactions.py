"""Placement's reaction to intake's events: its own copy of the residence facts, and the
Jugendberufsagentur route of an under-25.

An event about a case placement has not seen opens the case; a redelivered event carries
the same idempotency key and changes nothing; events placement needs nothing from are
acknowledged and skipped.
"""

from __future__ import annotations

from typing import Any, Final
from uuid import UUID

from contracts import intake
from contracts.envelope import Envelope
from contracts.intake import (
    AsylumDecided,
    HandOverAccepted,
    HandOverReason,
    IntakeEnvelope,
    IntakeEvent,
    PersonRegistered,
    ResidenceStatusRecorded,
    WohnsitzauflageImposed,
)
from services.chassis.eventstore import AppendResult
from services.chassis.reactions import Reaction, reaction_context
from services.chassis.service import WriteSide
from services.placement.commands import (
    NoteJugendberufsagenturRoute,
    NoteResidenceFacts,
    PlacementCommand,
    ResidenceDocument,
)
from services.placement.handlers import PlacementPorts, handle

REACTION: Final = "placement.residence-facts"


def command_for(  # noqa: PLR0911  # one return per intake event type: the match is the map
    event: IntakeEvent, event_id: UUID
) -> PlacementCommand | None:
    """The placement command an intake event calls for, if any (pure)."""
    match event:
        case PersonRegistered():
            return NoteResidenceFacts(
                source_event_id=event_id, nationality=event.nationality, site=event.site
            )
        case ResidenceStatusRecorded():
            document = ResidenceDocument(
                status=event.status,
                stay_since=event.stay_since,
                valid_until=event.valid_until,
                reception_centre_obligation=event.reception_centre_obligation,
                safe_country_of_origin=event.safe_country_of_origin,
            )
            return NoteResidenceFacts(source_event_id=event_id, document=document)
        case AsylumDecided():
            return NoteResidenceFacts(
                source_event_id=event_id, protection_granted=event.outcome.grants_protection
            )
        case WohnsitzauflageImposed():
            return NoteResidenceFacts(source_event_id=event_id, site=event.site)
        case HandOverAccepted(reason=HandOverReason.UNDER_25_JUGENDBERUFSAGENTUR):
            return NoteJugendberufsagenturRoute(
                source_event_id=event_id, handover_id=event.handover_id, noted_on=event.accepted_on
            )
        case HandOverAccepted(new_site=new_site) if new_site is not None:
            return NoteResidenceFacts(source_event_id=event_id, site=new_site)
    return None


async def react(envelope: Envelope[IntakeEvent], ports: PlacementPorts) -> AppendResult | None:
    """Apply the command ``envelope`` calls for, once."""
    command = command_for(envelope.data, envelope.event_id)
    if command is None:
        return None
    return await handle(envelope.case_id, command, reaction_context(envelope, REACTION), ports)


async def _react(envelope: Envelope[Any], write_side: WriteSide[Any]) -> None:
    await react(envelope, PlacementPorts(store=write_side.store))


RESIDENCE_FACTS = Reaction[WriteSide[Any]](
    name=REACTION,
    topic=intake.TOPIC,
    codec=intake.intake_codec,
    envelope=IntakeEnvelope,
    description="Residence facts and the Jugendberufsagentur route, from intake's case.",
    handle=_react,
)
