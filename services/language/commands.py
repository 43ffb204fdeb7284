"""Commands the language service accepts: frozen models, validated at the boundary (422).

Checks that need no state live here; the rules that need the person's language path are
the domain's (409).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from contracts.common import CefrLevel
from contracts.envelope import Agency
from contracts.language import (
    CourseType,
    DropReason,
    EnrolmentOutcome,
    EntitlementKind,
    Exam,
    Issuer,
    Month,
    issuer_mismatch,
)
from services.chassis.validation import PastDate, ShortText
from services.language.policy import issue_problem, target_level_problem

# A month has at most ~25 UE a week of full-time course; 400 leaves room and catches typos.
Units = Annotated[int, Field(ge=0, le=400)]


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _refuse(problem: str | None) -> None:
    if problem is not None:
        raise ValueError(problem)


class IssueEntitlement(_Command):
    """Record an entitlement or obligation to attend an Integrationskurs or Berufssprachkurs."""

    entitlement_id: UUID
    course_type: CourseType
    target_level: CefrLevel | None = Field(default=None, validate_default=True)
    kind: EntitlementKind
    issuer: Issuer
    issuing_agency: Agency | None = Field(default=None, validate_default=True)
    issued_on: PastDate

    @field_validator("target_level")
    @classmethod
    def _target_fits_course(cls, target: CefrLevel | None, info: ValidationInfo) -> Any:
        if "course_type" in info.data:
            _refuse(target_level_problem(info.data["course_type"], target))
        return target

    @field_validator("issuer")
    @classmethod
    def _issuer_may_issue(cls, issuer: Issuer, info: ValidationInfo) -> Any:
        if {"course_type", "kind"} <= info.data.keys():
            _refuse(issue_problem(info.data["course_type"], info.data["kind"], issuer))
        return issuer

    @field_validator("issuing_agency")
    @classmethod
    def _agency_acts_as_issuer(cls, agency: Agency | None, info: ValidationInfo) -> Any:
        if "issuer" in info.data:
            _refuse(issuer_mismatch(info.data["issuer"], agency))
        return agency


class RecordPlacementTest(_Command):
    """Record the CEFR level a placement test (Einstufungstest) found."""

    level: CefrLevel
    taken_on: PastDate


class StartEnrolment(_Command):
    """Start a course with a provider (Kursträger) on one of the person's entitlements."""

    enrolment_id: UUID
    entitlement_id: UUID
    provider: ShortText
    course_number: ShortText
    modules: tuple[ShortText, ...] = Field(min_length=1, max_length=12)
    started_on: PastDate


class RecordAttendance(_Command):
    """Record one month's attendance of the running enrolment, in teaching units (UE)."""

    enrolment_id: UUID
    month: Month
    units_scheduled: Units
    units_attended: Units

    @field_validator("units_attended")
    @classmethod
    def _not_more_than_scheduled(cls, attended: int, info: ValidationInfo) -> int:
        scheduled = info.data.get("units_scheduled")
        if scheduled is not None and attended > scheduled:
            raise ValueError(f"{attended} UE attended exceeds the {scheduled} UE scheduled")
        return attended


class RecordExam(_Command):
    """Record an exam taken within an enrolment: the certified level, or null when failed."""

    enrolment_id: UUID
    exam: Exam
    result: CefrLevel | None
    taken_on: PastDate
    certificate_number: ShortText | None = Field(default=None, validate_default=True)

    @field_validator("result")
    @classmethod
    def _exam_certifies_result(cls, result: CefrLevel | None, info: ValidationInfo) -> Any:
        exam: Exam | None = info.data.get("exam")
        if exam is not None and result is not None and result not in exam.certifiable_levels:
            levels = ", ".join(sorted(exam.certifiable_levels))
            raise ValueError(f"the {exam} certifies only {levels} (null when failed)")
        return result

    @field_validator("certificate_number")
    @classmethod
    def _only_a_pass_has_a_certificate(cls, number: str | None, info: ValidationInfo) -> Any:
        if number is not None and "result" in info.data and info.data["result"] is None:
            raise ValueError("a failed exam has no certificate")
        return number


class EndEnrolment(_Command):
    """End the running enrolment: completed, or dropped with the reason."""

    enrolment_id: UUID
    outcome: EnrolmentOutcome
    drop_reason: DropReason | None = Field(default=None, validate_default=True)
    ended_on: PastDate

    @field_validator("drop_reason")
    @classmethod
    def _reason_iff_dropped(cls, reason: DropReason | None, info: ValidationInfo) -> Any:
        outcome = info.data.get("outcome")
        if outcome is EnrolmentOutcome.DROPPED and reason is None:
            raise ValueError("a dropped enrolment names its reason")
        if outcome is EnrolmentOutcome.COMPLETED and reason is not None:
            raise ValueError("a completed enrolment has no drop reason")
        return reason


class TransferEntitlements(_Command):
    """Move the entitlements a handing-over agency issued to the agency that accepted the case.

    Issued by the hand-over reaction, never over HTTP.
    """

    handover_id: UUID
    from_agency: Agency
    to_agency: Agency
    effective_on: date

    @field_validator("to_agency")
    @classmethod
    def _another_agency(cls, to_agency: Agency, info: ValidationInfo) -> Agency:
        if info.data.get("from_agency") is to_agency:
            raise ValueError("a hand-over moves the case to another agency")
        return to_agency


LanguageCommand = (
    IssueEntitlement
    | RecordPlacementTest
    | StartEnrolment
    | RecordAttendance
    | RecordExam
    | EndEnrolment
    | TransferEntitlements
)
