"""The pure core of placement: decide(case, command) -> events; fold(events) -> case.

No I/O, no clock, no ids: dates and ids come in the commands, the adapter stamps the rest.
The rules live with their concept: ``permission``, ``measures``, ``employer``,
``placements``, and ``eligibility`` with its dated ``rulebook``.
"""

from __future__ import annotations

from contracts.placement import PlacementEvent
from services.placement import employer, facts, measures, permission, placements
from services.placement.commands import (
    DecideBaConsent,
    DecidePermission,
    EndMeasure,
    EndPlacement,
    MakeProposal,
    NoteJugendberufsagenturRoute,
    NoteResidenceFacts,
    PlacementCommand,
    ReceiveOpening,
    RecordFollowUp,
    RequestWorkPermission,
    StartMeasure,
    StartPlacement,
)
from services.placement.state import PlacementCase, evolve, fold

__all__ = ["PlacementCase", "decide", "evolve", "fold"]


def decide(  # noqa: PLR0911  # one return per command type: the match is the dispatch table
    case: PlacementCase | None, command: PlacementCommand
) -> list[PlacementEvent]:
    """The events a command produces, or the rule that refuses it (InvalidTransitionError)."""
    match command:
        case NoteResidenceFacts():
            return facts.note_residence_facts(case, command)
        case NoteJugendberufsagenturRoute():
            return facts.note_jugendberufsagentur_route(case, command)
        case RequestWorkPermission():
            return permission.request_work_permission(case, command)
        case DecideBaConsent():
            return permission.decide_ba_consent(case, command)
        case DecidePermission():
            return permission.decide_permission(case, command)
        case StartMeasure():
            return measures.start_measure(case, command)
        case EndMeasure():
            return measures.end_measure(case, command)
        case ReceiveOpening():
            return employer.receive_opening(case, command)
        case MakeProposal():
            return employer.make_proposal(case, command)
        case StartPlacement():
            return placements.start_placement(case, command)
        case EndPlacement():
            return placements.end_placement(case, command)
        case RecordFollowUp():
            return placements.record_follow_up(case, command)
