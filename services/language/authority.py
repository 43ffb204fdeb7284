"""Who may issue which language command (pure): the table ``docs/authorization.md`` renders.

The case's responsible agency and town come from the known-cases table the service keeps
from intake's topic (``services.chassis.known_cases``).
"""

from __future__ import annotations

from typing import Any, Final

from contracts.envelope import Agency
from contracts.language import ISSUER_OF_AGENCY, Issuer
from services.chassis.authorization import (
    RESIDENCE_AUTHORITY,
    RESPONSIBLE,
    Acting,
    Grant,
    KnownCase,
    Party,
    Role,
    Rule,
    permit_on_known_case,
)
from services.language.commands import (
    EndEnrolment,
    IssueEntitlement,
    LanguageCommand,
    RecordAttendance,
    RecordExam,
    RecordPlacementTest,
    StartEnrolment,
)


def _names_acting_agency(agency: Agency, command: Any) -> bool:
    return isinstance(command, IssueEntitlement) and command.issuing_agency in (None, agency)


def _abh_as_issuer(agency: Agency, command: Any, case: KnownCase | None) -> bool:
    # § 44a AufenthG: the Ausländerbehörde of the person's town obliges to the Integrationskurs.
    return (
        _names_acting_agency(agency, command)
        and command.issuer is Issuer.ABH
        and case is not None
        and agency is RESIDENCE_AUTHORITY[case.site]
    )


def _responsible_as_issuer(agency: Agency, command: Any, case: KnownCase | None) -> bool:
    # The Agentur or Jobcenter issues as itself; a BAMF admission is recorded from its letter.
    return (
        _names_acting_agency(agency, command)
        and command.issuer in (ISSUER_OF_AGENCY[agency], Issuer.BAMF)
        and ISSUER_OF_AGENCY[agency] is not Issuer.ABH
        and case is not None
        and agency is case.responsible
    )


ABH_AS_ISSUER: Final = Party(
    "the Ausländerbehörde of the case's town, issuing as the ABH", _abh_as_issuer
)
RESPONSIBLE_AS_ISSUER: Final = Party(
    "the responsible Agentur or Jobcenter, issuing as itself or recording the BAMF's admission",
    _responsible_as_issuer,
)
_COURSE: Final = Rule(
    "language.responsible_agency_records_the_course", (Grant.to(RESPONSIBLE, Role.CASE_WORKER),)
)

WHO_MAY_ISSUE: Final[dict[type, Rule]] = {
    IssueEntitlement: Rule(
        "language.entitlement_by_its_issuer",
        (
            Grant.to(ABH_AS_ISSUER, Role.ABH_CASE_WORKER),
            Grant.to(RESPONSIBLE_AS_ISSUER, Role.CASE_WORKER),
        ),
    ),
    # From the course provider's documents (the provider reports itself in a later issue).
    RecordPlacementTest: _COURSE,
    StartEnrolment: _COURSE,
    RecordAttendance: _COURSE,
    RecordExam: _COURSE,
    EndEnrolment: _COURSE,
}


def permit(case: KnownCase | None, command: LanguageCommand, acting: Acting) -> None:
    """404 for an unknown case, 403 naming the rule for what ``acting`` may not issue."""
    permit_on_known_case(WHO_MAY_ISSUE, acting, command, case)
