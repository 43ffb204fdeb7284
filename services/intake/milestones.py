"""What intake keeps of the other services' events for the hand-over package (pure).

Each event becomes facts keyed by (kind, item), so applying an event twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from contracts.envelope import Envelope
from contracts.intake import DataCategory
from contracts.language import EnrolmentEnded, EnrolmentStarted, ExamTaken, PlacementTestTaken
from contracts.placement import MeasureEnded, MeasureStarted, PlacementStarted, ProposalMade
from contracts.recognition import (
    AdaptationCompleted,
    AdaptationStarted,
    DecisionIssued,
    ProtectedTitlePermitted,
    ZabStatementIssued,
)


class FactKind(StrEnum):
    LANGUAGE_LEVEL = "language_level"
    COURSE = "course"
    RECOGNITION = "recognition"
    MEASURE = "measure"
    EMPLOYER_CONTACT = "employer_contact"


# What intake keeps of each data category a retention period can erase on its own.
KINDS_OF_CATEGORY: Final[dict[DataCategory, frozenset[FactKind]]] = {
    DataCategory.LANGUAGE: frozenset({FactKind.COURSE, FactKind.LANGUAGE_LEVEL}),
    DataCategory.RECOGNITION: frozenset({FactKind.RECOGNITION}),
    DataCategory.PLACEMENT: frozenset({FactKind.MEASURE, FactKind.EMPLOYER_CONTACT}),
}


@dataclass(frozen=True)
class MilestoneFact:
    """``ended`` None: leave as it is; a label None: keep the label already recorded."""

    kind: FactKind
    item: str
    label: str | None
    ended: bool | None = None


def facts_of(envelope: Envelope[Any]) -> list[MilestoneFact]:  # noqa: PLR0911, PLR0912  # one arm per event
    """The milestone facts an event of language, recognition or placement carries."""
    data = envelope.data
    match data:
        case PlacementTestTaken():
            return [MilestoneFact(FactKind.LANGUAGE_LEVEL, str(envelope.event_id), data.level)]
        case ExamTaken() if data.result is not None:
            return [MilestoneFact(FactKind.LANGUAGE_LEVEL, str(envelope.event_id), data.result)]
        case EnrolmentStarted():
            label = f"{data.provider} {data.course_number}"
            return [MilestoneFact(FactKind.COURSE, str(data.enrolment_id), label, ended=False)]
        case EnrolmentEnded():
            return [MilestoneFact(FactKind.COURSE, str(data.enrolment_id), None, ended=True)]
        case DecisionIssued():
            state = f"decision:{data.outcome.value}"
            return [MilestoneFact(FactKind.RECOGNITION, str(data.procedure_id), state)]
        case ZabStatementIssued():
            return [_recognition(data.procedure_id, "zab_statement")]
        case ProtectedTitlePermitted():
            return [_recognition(data.procedure_id, f"title_permitted:{data.title.value}")]
        case AdaptationStarted():
            return [_recognition(data.procedure_id, "adaptation_running")]
        case AdaptationCompleted():
            return [_recognition(data.procedure_id, "adaptation_completed")]
        case MeasureStarted():
            return [MilestoneFact(FactKind.MEASURE, str(data.measure_id), data.kind, ended=False)]
        case MeasureEnded():
            return [MilestoneFact(FactKind.MEASURE, str(data.measure_id), None, ended=True)]
        case ProposalMade():
            return [MilestoneFact(FactKind.EMPLOYER_CONTACT, str(data.proposal_id), "proposal")]
        case PlacementStarted():
            return [MilestoneFact(FactKind.EMPLOYER_CONTACT, str(data.placement_id), data.employer)]
    return []


def _recognition(procedure_id: object, state: str) -> MilestoneFact:
    return MilestoneFact(FactKind.RECOGNITION, str(procedure_id), state)
