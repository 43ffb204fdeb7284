"""Events of the language path, topic ``ip.language.path.v1`` (key: the person's case id).

One stream per person: entitlements and obligations to attend a course (Integrationskurs
under §§ 44, 44a AufenthG, Berufssprachkurs under the DeuFöV), placement tests, enrolments
with their monthly attendance in teaching units (UE), exams with their CEFR result, and
the change of an entitlement's issuer when the case is handed over to another agency.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Final, Literal, Self
from uuid import UUID

from pydantic import Field, TypeAdapter, model_validator

from contracts.codec import TopicCodec
from contracts.common import CefrLevel, EventPayload, ShortText
from contracts.envelope import Agency, Envelope

TOPIC: Final = "ip.language.path.v1"

Month = Annotated[
    str, Field(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$", description="calendar month, YYYY-MM")
]


# --- entitlements ---------------------------------------------------------------------------


class CourseType(StrEnum):
    INTEGRATIONSKURS = "integrationskurs"
    INTEGRATIONSKURS_JUGEND = "integrationskurs_jugend"  # for young adults under 27
    INTEGRATIONSKURS_ALPHABETISIERUNG = "integrationskurs_alphabetisierung"
    BERUFSSPRACHKURS_BASIS = "berufssprachkurs_basis"  # DeuFöV Basismodul, target B2/C1/C2
    BERUFSSPRACHKURS_SPEZIAL = "berufssprachkurs_spezial"  # DeuFöV Spezialmodul

    @property
    def is_berufssprachkurs(self) -> bool:
        return self in {CourseType.BERUFSSPRACHKURS_BASIS, CourseType.BERUFSSPRACHKURS_SPEZIAL}


class EntitlementKind(StrEnum):
    BERECHTIGUNG = "berechtigung"  # the person may attend
    VERPFLICHTUNG = "verpflichtung"  # the person must attend


class Issuer(StrEnum):
    """The body that issued an entitlement or obligation."""

    ABH = "abh"  # Ausländerbehörde of Stadt Mönchengladbach or Rhein-Kreis Neuss
    BAMF = "bamf"  # Bundesamt für Migration und Flüchtlinge (admission, § 44 (4) AufenthG)
    AGENTUR = "agentur"  # Agentur für Arbeit
    JOBCENTER = "jobcenter"


# The body each agency of the network acts as when it issues a course entitlement.
ISSUER_OF_AGENCY: Final[dict[Agency, Issuer]] = {
    Agency.AA_MG: Issuer.AGENTUR,
    Agency.JC_MG: Issuer.JOBCENTER,
    Agency.JC_RKN: Issuer.JOBCENTER,
    Agency.STADT_MG: Issuer.ABH,
    Agency.RKN: Issuer.ABH,
}


def issuer_mismatch(issuer: Issuer, agency: Agency | None) -> str | None:
    """Why ``agency`` cannot be the issuing agency of body ``issuer`` (None if it can).

    The BAMF is not an agency of the network; every other issuer names its agency.
    """
    if issuer is Issuer.BAMF:
        return None if agency is None else "a BAMF admission names no issuing agency"
    if agency is None:
        return f"an entitlement issued by {issuer} names the issuing agency"
    if ISSUER_OF_AGENCY[agency] is not issuer:
        return f"{agency} does not act as {issuer}"
    return None


class EntitlementIssued(EventPayload):
    """An entitlement (Berechtigung) or obligation (Verpflichtung) to attend a course."""

    type: Literal["language.entitlement_issued"] = "language.entitlement_issued"
    schema_version: Literal[1] = 1
    entitlement_id: UUID
    course_type: CourseType
    target_level: CefrLevel | None = Field(
        default=None, description="the level a Berufssprachkurs leads to (Basismodul: B2-C2)"
    )
    kind: EntitlementKind
    issuer: Issuer
    issuing_agency: Agency | None = Field(
        default=None, description="the agency that issued it; None for a BAMF admission"
    )
    issued_on: date

    @model_validator(mode="after")
    def _agency_acts_as_issuer(self) -> Self:
        problem = issuer_mismatch(self.issuer, self.issuing_agency)
        if problem is not None:
            raise ValueError(problem)
        return self


class IssuerChanged(EventPayload):
    """A hand-over moved an entitlement to the newly responsible agency.

    The entitlement and any enrolment on it continue unchanged: only who answers for it moves.
    """

    type: Literal["language.issuer_changed"] = "language.issuer_changed"
    schema_version: Literal[1] = 1
    entitlement_id: UUID
    from_agency: Agency
    to_agency: Agency
    handover_id: UUID
    effective_on: date


# --- level, enrolment, attendance, exams ---------------------------------------------------


class PlacementTestTaken(EventPayload):
    """A placement test (Einstufungstest) put the person at a CEFR level."""

    type: Literal["language.placement_test_taken"] = "language.placement_test_taken"
    schema_version: Literal[1] = 1
    level: CefrLevel
    taken_on: date


class EnrolmentStarted(EventPayload):
    """The person started a course with a provider (Kursträger) on an entitlement."""

    type: Literal["language.enrolment_started"] = "language.enrolment_started"
    schema_version: Literal[1] = 1
    enrolment_id: UUID
    entitlement_id: UUID
    provider: ShortText
    course_number: ShortText = Field(description="the course's number at the BAMF")
    modules: tuple[ShortText, ...] = Field(min_length=1)
    started_on: date


class AttendanceRecorded(EventPayload):
    """Teaching units (UE) attended out of those scheduled in one month of an enrolment."""

    type: Literal["language.attendance_recorded"] = "language.attendance_recorded"
    schema_version: Literal[1] = 1
    enrolment_id: UUID
    month: Month
    units_attended: int = Field(ge=0)
    units_scheduled: int = Field(ge=0)


class Exam(StrEnum):
    DTZ = "dtz"  # Deutsch-Test für Zuwanderer, ends the Integrationskurs
    DTB_B1 = "dtb_b1"  # Deutsch-Test für den Beruf, ends a Berufssprachkurs
    DTB_B2 = "dtb_b2"
    DTB_C1 = "dtb_c1"
    TELC_DEUTSCH_B1 = "telc_deutsch_b1"
    TELC_DEUTSCH_B2 = "telc_deutsch_b2"
    TELC_DEUTSCH_B1_B2_BERUF = "telc_deutsch_b1_b2_beruf"
    TELC_DEUTSCH_C1 = "telc_deutsch_c1"
    GOETHE_B1 = "goethe_b1"
    GOETHE_B2 = "goethe_b2"
    GOETHE_C1 = "goethe_c1"

    @property
    def certifiable_levels(self) -> frozenset[CefrLevel]:
        """The levels a pass of this exam can certify (the DTZ: A2 or B1)."""
        return EXAM_LEVELS[self]


_B1, _B2, _C1 = CefrLevel.B1, CefrLevel.B2, CefrLevel.C1
EXAM_LEVELS: Final[dict[Exam, frozenset[CefrLevel]]] = {
    Exam.DTZ: frozenset({CefrLevel.A2, _B1}),
    Exam.DTB_B1: frozenset({_B1}),
    Exam.DTB_B2: frozenset({_B2}),
    Exam.DTB_C1: frozenset({_C1}),
    Exam.TELC_DEUTSCH_B1: frozenset({_B1}),
    Exam.TELC_DEUTSCH_B2: frozenset({_B2}),
    Exam.TELC_DEUTSCH_B1_B2_BERUF: frozenset({_B1, _B2}),
    Exam.TELC_DEUTSCH_C1: frozenset({_C1}),
    Exam.GOETHE_B1: frozenset({_B1}),
    Exam.GOETHE_B2: frozenset({_B2}),
    Exam.GOETHE_C1: frozenset({_C1}),
}


class ExamTaken(EventPayload):
    """An exam within an enrolment; ``result`` is the certified level, None when failed.

    v2 added ``certificate_number``; v1 events are read without one.
    """

    type: Literal["language.exam_taken"] = "language.exam_taken"
    schema_version: Literal[2] = 2
    enrolment_id: UUID
    exam: Exam
    result: CefrLevel | None
    taken_on: date
    certificate_number: ShortText | None = Field(
        default=None, description="the certificate's number, for employers and authorities"
    )


class EnrolmentOutcome(StrEnum):
    COMPLETED = "completed"
    DROPPED = "dropped"


class DropReason(StrEnum):
    WORK = "work"
    ILLNESS = "illness"
    MOVED = "moved"
    CHILDCARE = "childcare"
    OTHER = "other"


class EnrolmentEnded(EventPayload):
    """The enrolment ended: completed, or dropped with its reason."""

    type: Literal["language.enrolment_ended"] = "language.enrolment_ended"
    schema_version: Literal[1] = 1
    enrolment_id: UUID
    outcome: EnrolmentOutcome
    drop_reason: DropReason | None = None
    ended_on: date


EVENT_TYPES: Final = (
    EntitlementIssued,
    IssuerChanged,
    PlacementTestTaken,
    EnrolmentStarted,
    AttendanceRecorded,
    ExamTaken,
    EnrolmentEnded,
)

LanguageEvent = Annotated[
    EntitlementIssued
    | IssuerChanged
    | PlacementTestTaken
    | EnrolmentStarted
    | AttendanceRecorded
    | ExamTaken
    | EnrolmentEnded,
    Field(discriminator="type"),
]


class LanguageEnvelope(Envelope[LanguageEvent]):
    """An event of the language topic in its envelope."""


def _exam_taken_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "certificate_number": None}


language_codec: Final = TopicCodec(
    TypeAdapter(LanguageEnvelope),
    EVENT_TYPES,
    {("language.exam_taken", 1): _exam_taken_v1_to_v2},
)
