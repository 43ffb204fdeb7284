"""Language commands: what needs no state is refused at the boundary (422), with the field."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from contracts.language import CourseType, EntitlementKind, Issuer
from services.language.commands import (
    EndEnrolment,
    IssueEntitlement,
    RecordAttendance,
    RecordExam,
    TransferEntitlements,
)

ENTITLEMENT = {
    "entitlement_id": "0192f1a0-9a00-7000-8000-00000000e001",
    "course_type": "integrationskurs",
    "kind": "berechtigung",
    "issuer": "bamf",
    "issued_on": "2016-03-01",
}
ENROLMENT = "0192f1a0-9a00-7000-8000-00000000c001"


def refused_field(model: type[Any], data: dict[str, Any]) -> tuple[str, str]:
    with pytest.raises(ValidationError) as refused:
        model.model_validate(data)
    error = refused.value.errors()[0]
    return ".".join(str(part) for part in error["loc"]), error["msg"]


AGENCY_OF = {
    Issuer.ABH: "STADT-MG",
    Issuer.BAMF: None,
    Issuer.AGENTUR: "AA-MG",
    Issuer.JOBCENTER: "JC-RKN",
}
MAY = {
    # Integrationskurs (§§ 44, 44a AufenthG)
    (CourseType.INTEGRATIONSKURS, Issuer.ABH, EntitlementKind.BERECHTIGUNG),
    (CourseType.INTEGRATIONSKURS, Issuer.ABH, EntitlementKind.VERPFLICHTUNG),
    (CourseType.INTEGRATIONSKURS, Issuer.BAMF, EntitlementKind.BERECHTIGUNG),
    (CourseType.INTEGRATIONSKURS, Issuer.JOBCENTER, EntitlementKind.VERPFLICHTUNG),
    # Berufssprachkurs (DeuFöV)
    (CourseType.BERUFSSPRACHKURS_SPEZIAL, Issuer.AGENTUR, EntitlementKind.BERECHTIGUNG),
    (CourseType.BERUFSSPRACHKURS_SPEZIAL, Issuer.JOBCENTER, EntitlementKind.BERECHTIGUNG),
    (CourseType.BERUFSSPRACHKURS_SPEZIAL, Issuer.JOBCENTER, EntitlementKind.VERPFLICHTUNG),
}


@pytest.mark.parametrize("issuer", list(Issuer))
@pytest.mark.parametrize("kind", list(EntitlementKind))
@pytest.mark.parametrize(
    "course", [CourseType.INTEGRATIONSKURS, CourseType.BERUFSSPRACHKURS_SPEZIAL]
)
def test_who_may_issue_what(course: CourseType, kind: EntitlementKind, issuer: Issuer) -> None:
    """Integrationskurs: ABH both, BAMF admits, Jobcenter obliges, Agentur neither;
    Berufssprachkurs: Agentur admits, Jobcenter both, ABH and BAMF neither."""
    data = {
        **ENTITLEMENT,
        "course_type": course,
        "kind": kind,
        "issuer": issuer,
        "issuing_agency": AGENCY_OF[issuer],
    }

    if (course, issuer, kind) in MAY:
        assert IssueEntitlement.model_validate(data).issuer is issuer
    else:
        assert refused_field(IssueEntitlement, data)[0] == "issuer"


@pytest.mark.parametrize(
    ("issuer", "agency", "reason"),
    [
        ("abh", None, "names the issuing agency"),
        ("jobcenter", "AA-MG", "AA-MG does not act as jobcenter"),
        ("abh", "JC-MG", "JC-MG does not act as abh"),
        ("bamf", "STADT-MG", "a BAMF admission names no issuing agency"),
    ],
)
def test_issuing_agency_must_act_as_the_issuer(
    issuer: str, agency: str | None, reason: str
) -> None:
    """The issuing agency is the issuer's: AA for the Agentur, a JC, the Stadt or Kreis as ABH."""
    kind = "berechtigung" if issuer == "bamf" else "verpflichtung"  # what each may issue
    data = {**ENTITLEMENT, "kind": kind, "issuer": issuer, "issuing_agency": agency}

    field, message = refused_field(IssueEntitlement, data)

    assert field == "issuing_agency"
    assert reason in message


@pytest.mark.parametrize(
    ("course", "target", "accepted"),
    [
        ("berufssprachkurs_basis", "B2", True),
        ("berufssprachkurs_basis", "C1", True),
        ("berufssprachkurs_basis", "B1", False),
        ("berufssprachkurs_basis", None, False),
        ("berufssprachkurs_spezial", None, True),
        ("berufssprachkurs_spezial", "A2", True),
        ("integrationskurs", "B1", False),
        ("integrationskurs_alphabetisierung", None, True),
    ],
)
def test_target_level_fits_the_course(course: str, target: str | None, accepted: bool) -> None:
    """A Basismodul leads to B2, C1 or C2; an Integrationskurs takes no target level."""
    data = {
        **ENTITLEMENT,
        "course_type": course,
        "target_level": target,
        "issuer": "jobcenter",
        "issuing_agency": "JC-MG",
        "kind": "verpflichtung",
    }

    if accepted:
        assert IssueEntitlement.model_validate(data).target_level == target
    else:
        assert refused_field(IssueEntitlement, data)[0] == "target_level"


def test_attended_equal_to_scheduled_is_allowed_one_more_is_not() -> None:
    """Units attended may reach the units scheduled, never exceed them."""
    month = {"enrolment_id": ENROLMENT, "month": "2016-10", "units_scheduled": 72}

    full = RecordAttendance.model_validate({**month, "units_attended": 72})
    field, reason = refused_field(RecordAttendance, {**month, "units_attended": 73})

    assert full.units_attended == 72
    assert (field, reason) == (
        "units_attended",
        "Value error, 73 UE attended exceeds the 72 UE scheduled",
    )


@pytest.mark.parametrize("month", ["2016-13", "2016-1", "2016-10-01", "Oct 2016"])
def test_month_is_yyyy_mm(month: str) -> None:
    """Attendance is per calendar month, written YYYY-MM."""
    data = {"enrolment_id": ENROLMENT, "month": month, "units_scheduled": 1, "units_attended": 0}

    assert refused_field(RecordAttendance, data)[0] == "month"


@pytest.mark.parametrize(
    ("exam", "result", "accepted"),
    [
        ("dtz", "A2", True),
        ("dtz", "B1", True),
        ("dtz", None, True),
        ("dtz", "B2", False),
        ("dtz", "A1", False),
        ("telc_deutsch_b1_b2_beruf", "B2", True),
        ("telc_deutsch_c1", "B2", False),
    ],
)
def test_exam_result_is_a_level_the_exam_certifies(
    exam: str, result: str | None, accepted: bool
) -> None:
    """The DTZ certifies A2 or B1 (or is failed); each exam certifies only its own levels."""
    data = {"enrolment_id": ENROLMENT, "exam": exam, "result": result, "taken_on": "2017-03-20"}

    if accepted:
        assert RecordExam.model_validate(data).result == result
    else:
        assert refused_field(RecordExam, data)[0] == "result"


def test_failed_exam_has_no_certificate_number() -> None:
    """A certificate number comes only with a pass."""
    data = {
        "enrolment_id": ENROLMENT,
        "exam": "dtz",
        "result": None,
        "taken_on": "2017-03-20",
        "certificate_number": "DTZ-1",
    }

    assert refused_field(RecordExam, data)[0] == "certificate_number"


def test_exam_result_must_be_stated_even_when_failed() -> None:
    """A missing result is bad input: a failed exam says null explicitly."""
    data = {"enrolment_id": ENROLMENT, "exam": "dtz", "taken_on": "2017-03-20"}

    assert refused_field(RecordExam, data) == ("result", "Field required")


@pytest.mark.parametrize(
    ("outcome", "reason", "accepted"),
    [
        ("completed", None, True),
        ("dropped", "work", True),
        ("dropped", None, False),
        ("completed", "illness", False),
    ],
)
def test_drop_reason_iff_dropped(outcome: str, reason: str | None, accepted: bool) -> None:
    """A dropped enrolment names its reason; a completed one has none."""
    data = {"enrolment_id": ENROLMENT, "outcome": outcome, "ended_on": "2017-03-31"}
    if reason is not None:
        data["drop_reason"] = reason

    if accepted:
        assert EndEnrolment.model_validate(data).drop_reason == reason
    else:
        assert refused_field(EndEnrolment, data)[0] == "drop_reason"


def test_transfer_needs_two_agencies() -> None:
    """A hand-over to the same agency is no hand-over."""
    data = {
        "handover_id": "0192f1a0-9a00-7000-8000-00000000a001",
        "from_agency": "JC-MG",
        "to_agency": "JC-MG",
        "effective_on": "2016-11-15",
    }

    assert refused_field(TransferEntitlements, data)[0] == "to_agency"
