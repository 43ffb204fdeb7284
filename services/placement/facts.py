"""Deciding on what intake told placement: the residence-facts snapshot and the
Jugendberufsagentur route. Both tolerate a case placement has not seen yet, and repeat
nothing that is already known (a second delivery of the same facts adds no event)."""

from __future__ import annotations

from typing import Any

from contracts.placement import JugendberufsagenturRouteNoted, PlacementEvent, ResidenceFactsNoted
from services.placement.commands import NoteJugendberufsagenturRoute, NoteResidenceFacts
from services.placement.state import PlacementCase


def note_residence_facts(
    case: PlacementCase | None, command: NoteResidenceFacts
) -> list[PlacementEvent]:
    """The merged snapshot, or nothing when it says what placement knew already."""
    current = case.facts if case is not None else None
    update: dict[str, Any] = {"source_event_id": command.source_event_id}
    if command.document is not None:
        # A new document replaces the old one whole: a missing valid_until means unlimited.
        update |= command.document.model_dump()
    if command.nationality is not None:
        update["nationality"] = command.nationality
    if command.site is not None:
        update["site"] = command.site
    if command.protection_granted is not None:
        update["protection_granted"] = command.protection_granted
    if current is None:
        return [ResidenceFactsNoted.model_validate(update)]
    merged = current.model_copy(update=update)
    if merged.model_copy(update={"source_event_id": current.source_event_id}) == current:
        return []
    return [merged]


def note_jugendberufsagentur_route(
    case: PlacementCase | None, command: NoteJugendberufsagenturRoute
) -> list[PlacementEvent]:
    """The route, once: a second hand-over to the Jugendberufsagentur changes nothing."""
    if case is not None and case.jugendberufsagentur:
        return []
    return [
        JugendberufsagenturRouteNoted(
            handover_id=command.handover_id,
            noted_on=command.noted_on,
            source_event_id=command.source_event_id,
        )
    ]
