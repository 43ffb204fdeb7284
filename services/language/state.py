"""The person's language path as the deciders see it, rebuilt from its events (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from uuid import UUID

from contracts.common import CefrLevel
from contracts.envelope import Agency
from contracts.language import (
    ISSUER_OF_AGENCY,
    AttendanceRecorded,
    CourseType,
    EnrolmentEnded,
    EnrolmentOutcome,
    EnrolmentStarted,
    EntitlementIssued,
    EntitlementKind,
    ExamTaken,
    Issuer,
    IssuerChanged,
    LanguageEvent,
    PlacementTestTaken,
)


@dataclass(frozen=True)
class Entitlement:
    entitlement_id: UUID
    course_type: CourseType
    target_level: CefrLevel | None
    kind: EntitlementKind
    issuer: Issuer
    agency: Agency | None  # the agency answering for it now; changes on a hand-over
    issued_on: date
    enrolment_id: UUID | None = None  # an entitlement carries one enrolment


@dataclass(frozen=True)
class Enrolment:
    enrolment_id: UUID
    entitlement_id: UUID
    started_on: date
    attended_months: frozenset[str] = frozenset()
    outcome: EnrolmentOutcome | None = None
    ended_on: date | None = None

    @property
    def running(self) -> bool:
        return self.outcome is None

    @property
    def start_month(self) -> str:
        return f"{self.started_on:%Y-%m}"


@dataclass(frozen=True)
class LanguagePath:
    """What the deciders need to know about one person's language path."""

    entitlements: Mapping[UUID, Entitlement] = field(default_factory=dict)
    enrolments: Mapping[UUID, Enrolment] = field(default_factory=dict)
    latest_enrolment: UUID | None = None
    # The best level any placement test or exam showed: a certificate does not expire.
    level: CefrLevel | None = None

    def running_enrolment(self) -> Enrolment | None:
        return next((e for e in self.enrolments.values() if e.running), None)

    def reached(self, level: CefrLevel) -> bool:
        return self.level is not None and self.level.at_least(level)

    def completed_integrationskurs(self) -> bool:
        return any(
            enrolment.outcome is EnrolmentOutcome.COMPLETED
            and not self.entitlements[enrolment.entitlement_id].course_type.is_berufssprachkurs
            for enrolment in self.enrolments.values()
        )


def _better(known: CefrLevel | None, shown: CefrLevel | None) -> CefrLevel | None:
    if shown is None:
        return known
    return shown if known is None or shown.at_least(known) else known


def evolve(path: LanguagePath, event: LanguageEvent) -> LanguagePath:  # noqa: PLR0911 -- one return per event type
    """The path after ``event``."""
    match event:
        case EntitlementIssued():
            entitlement = Entitlement(
                entitlement_id=event.entitlement_id,
                course_type=event.course_type,
                target_level=event.target_level,
                kind=event.kind,
                issuer=event.issuer,
                agency=event.issuing_agency,
                issued_on=event.issued_on,
            )
            return _with_entitlement(path, entitlement)
        case IssuerChanged():
            moved = path.entitlements[event.entitlement_id]
            return _with_entitlement(
                path,
                replace(moved, agency=event.to_agency, issuer=ISSUER_OF_AGENCY[event.to_agency]),
            )
        case PlacementTestTaken():
            return replace(path, level=_better(path.level, event.level))
        case EnrolmentStarted():
            used = replace(path.entitlements[event.entitlement_id], enrolment_id=event.enrolment_id)
            started = Enrolment(event.enrolment_id, event.entitlement_id, event.started_on)
            return replace(
                _with_enrolment(_with_entitlement(path, used), started),
                latest_enrolment=event.enrolment_id,
            )
        case AttendanceRecorded():
            enrolment = path.enrolments[event.enrolment_id]
            months = enrolment.attended_months | {event.month}
            return _with_enrolment(path, replace(enrolment, attended_months=months))
        case ExamTaken():
            return replace(path, level=_better(path.level, event.result))
        case EnrolmentEnded():
            ended = replace(
                path.enrolments[event.enrolment_id], outcome=event.outcome, ended_on=event.ended_on
            )
            return _with_enrolment(path, ended)


def _with_entitlement(path: LanguagePath, entitlement: Entitlement) -> LanguagePath:
    return replace(
        path, entitlements={**path.entitlements, entitlement.entitlement_id: entitlement}
    )


def _with_enrolment(path: LanguagePath, enrolment: Enrolment) -> LanguagePath:
    return replace(path, enrolments={**path.enrolments, enrolment.enrolment_id: enrolment})


def fold(_case_id: UUID, history: Iterable[LanguageEvent]) -> LanguagePath:
    """Rebuild a person's path from its events (an unknown person has an empty path)."""
    path = LanguagePath()
    for event in history:
        path = evolve(path, event)
    return path
