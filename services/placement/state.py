"""The placement case as the deciders see it, rebuilt from its events (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from uuid import UUID

from contracts.placement import (
    BaConsentDecided,
    FollowUpContactRecorded,
    JugendberufsagenturRouteNoted,
    MeasureEnded,
    MeasureStarted,
    OpeningReceived,
    PermissionDecided,
    PlacementEnded,
    PlacementEvent,
    PlacementStarted,
    ProposalMade,
    ResidenceFactsNoted,
    WorkPermissionRequested,
)
from services.chassis.rules import InvalidTransitionError
from services.placement.eligibility import ResidenceFacts


@dataclass(frozen=True)
class PermissionRequest:
    requested: WorkPermissionRequested
    ba_consent: BaConsentDecided | None = None
    permission: PermissionDecided | None = None


@dataclass(frozen=True)
class Measure:
    started: MeasureStarted
    ended_on: date | None = None


@dataclass(frozen=True)
class Placement:
    started: PlacementStarted
    ended_on: date | None = None


@dataclass(frozen=True)
class PlacementCase:
    """Everything placement decides on; it exists once any event about the case arrived."""

    case_id: UUID
    facts: ResidenceFactsNoted | None = None
    jugendberufsagentur: bool = False
    requests: Mapping[UUID, PermissionRequest] = field(default_factory=dict)
    measures: Mapping[UUID, Measure] = field(default_factory=dict)
    openings: Mapping[UUID, OpeningReceived] = field(default_factory=dict)
    proposals: Mapping[UUID, ProposalMade] = field(default_factory=dict)
    placements: Mapping[UUID, Placement] = field(default_factory=dict)


def known(case: PlacementCase | None) -> PlacementCase:
    """The case, or the refusal for one placement has not heard of from intake yet."""
    if case is None:
        raise InvalidTransitionError(
            "case.not_known", "placement has received nothing about this case from intake yet"
        )
    return case


def residence_facts(case: PlacementCase | None) -> ResidenceFacts:
    """The facts the eligibility rules need, or the refusal when a document is missing."""
    noted = known(case).facts
    if noted is None or noted.status is None or noted.stay_since is None:
        raise InvalidTransitionError(
            "case.needs_residence_facts", "no residence document is known for this case yet"
        )
    return ResidenceFacts(
        status=noted.status,
        stay_since=noted.stay_since,
        valid_until=noted.valid_until,
        reception_centre_obligation=noted.reception_centre_obligation,
        safe_country_of_origin=noted.safe_country_of_origin,
        nationality=noted.nationality,
        protection_granted=bool(noted.protection_granted),
    )


def evolve(  # noqa: PLR0911  # one return per event type: the match is the dispatch table
    case: PlacementCase | None, case_id: UUID, event: PlacementEvent
) -> PlacementCase:
    """The case after ``event``."""
    case = case or PlacementCase(case_id)
    match event:
        case ResidenceFactsNoted():
            return replace(case, facts=event)
        case JugendberufsagenturRouteNoted():
            return replace(case, jugendberufsagentur=True)
        case WorkPermissionRequested():
            return replace(
                case, requests={**case.requests, event.request_id: PermissionRequest(event)}
            )
        case BaConsentDecided():
            request = replace(case.requests[event.request_id], ba_consent=event)
            return replace(case, requests={**case.requests, event.request_id: request})
        case PermissionDecided():
            request = replace(case.requests[event.request_id], permission=event)
            return replace(case, requests={**case.requests, event.request_id: request})
        case MeasureStarted():
            return replace(case, measures={**case.measures, event.measure_id: Measure(event)})
        case MeasureEnded():
            measure = replace(case.measures[event.measure_id], ended_on=event.ended_on)
            return replace(case, measures={**case.measures, event.measure_id: measure})
        case OpeningReceived():
            return replace(case, openings={**case.openings, event.opening_id: event})
        case ProposalMade():
            return replace(case, proposals={**case.proposals, event.proposal_id: event})
        case PlacementStarted():
            placements = {**case.placements, event.placement_id: Placement(event)}
            return replace(case, placements=placements)
        case PlacementEnded():
            placement = replace(case.placements[event.placement_id], ended_on=event.ended_on)
            return replace(case, placements={**case.placements, event.placement_id: placement})
        case FollowUpContactRecorded():
            return case


def fold(case_id: UUID, history: Iterable[PlacementEvent]) -> PlacementCase | None:
    """Rebuild a case from its events (None for a case with none)."""
    case: PlacementCase | None = None
    for event in history:
        case = evolve(case, case_id, event)
    return case
