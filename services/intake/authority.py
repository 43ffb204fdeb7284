"""Who may issue which intake command (pure): the table ``docs/authorization.md`` renders.

Intake knows the case itself (its own stream): the responsible agency, the town's site and
a pending hand-over come from the fold, so no copy of another service's data is needed.
"""

from __future__ import annotations

from typing import Any, Final

from contracts.common import JOBCENTER_BY_SITE
from contracts.envelope import Agency
from services.chassis.authorization import (
    AGENTUR,
    RESIDENCE_AUTHORITY,
    Acting,
    Grant,
    Party,
    Role,
    Rule,
    authorise,
)
from services.chassis.rules import NotPermittedError
from services.intake.case import Case
from services.intake.commands import (
    AcceptHandOver,
    AssignInterpreter,
    CloseCase,
    EraseCategory,
    ErasePerson,
    ExpireConsent,
    GiveConsent,
    ImposeWohnsitzauflage,
    IntakeCommand,
    LinkIdentifier,
    RecordAsylumDecision,
    RecordContact,
    RecordFirstContact,
    RecordInterpreterNoShow,
    RecordInterpreterSession,
    RecordProfile,
    RecordResidenceStatus,
    RecordSgbIIApplication,
    ReferToPartner,
    RegisterPerson,
    RejectHandOver,
    RequestHandOver,
    RequestInterpreter,
    WithdrawConsent,
)


def _responsible(agency: Agency, _: object, case: Case | None) -> bool:
    return case is not None and agency is case.responsible


def _residence_authority(agency: Agency, _: object, case: Case | None) -> bool:
    return case is not None and agency is RESIDENCE_AUTHORITY[case.current_site]


def _residence_authority_of_allocation(agency: Agency, command: Any, _: object) -> bool:
    return isinstance(command, RegisterPerson) and agency is RESIDENCE_AUTHORITY[command.site]


def _jobcenter_of_the_town(agency: Agency, _: object, case: Case | None) -> bool:
    return case is not None and agency is JOBCENTER_BY_SITE[case.current_site]


def _receiver(agency: Agency, _: object, case: Case | None) -> bool:
    # Without a pending hand-over the decider refuses (409 hand_over.not_pending).
    return case is not None and (case.pending is None or agency is case.pending.to_agency)


RESPONSIBLE: Final = Party("the responsible agency", _responsible)
RESIDENCE_AUTHORITY_OF_THE_CASE: Final = Party(
    "the Ausländerbehörde of the case's town", _residence_authority
)
RESIDENCE_AUTHORITY_OF_THE_TOWN: Final = Party(
    "the Ausländerbehörde of the town of allocation", _residence_authority_of_allocation
)
JOBCENTER_OF_THE_TOWN: Final = Party("the Jobcenter of the case's town", _jobcenter_of_the_town)
RECEIVER: Final = Party("the receiver of the pending hand-over", _receiver)

_CASE_WORK: Final = Rule(
    "case.only_responsible_agency_changes", (Grant.to(RESPONSIBLE, Role.CASE_WORKER),)
)
_RESIDENCE_FACTS: Final = Rule(
    "case.residence_facts_by_responsible_agency_or_abh",
    (
        Grant.to(RESPONSIBLE, Role.CASE_WORKER),
        Grant.to(RESIDENCE_AUTHORITY_OF_THE_CASE, Role.ABH_CASE_WORKER),
    ),
)
_RECEIVER_DECIDES: Final = Rule(
    "hand_over.only_receiver_decides", (Grant.to(RECEIVER, Role.CASE_WORKER),)
)
_ERASURE: Final = Rule(
    "erasure.by_responsible_agency_or_its_data_protection",
    (Grant.to(RESPONSIBLE, Role.CASE_WORKER, Role.DATA_PROTECTION),),
)

WHO_MAY_ISSUE: Final[dict[type, Rule]] = {
    RegisterPerson: Rule(
        "case.registered_by_the_integration_point",
        (
            Grant.to(AGENTUR, Role.CASE_WORKER),
            Grant.to(RESIDENCE_AUTHORITY_OF_THE_TOWN, Role.ABH_CASE_WORKER),
        ),
    ),
    LinkIdentifier: _RESIDENCE_FACTS,
    RecordResidenceStatus: _RESIDENCE_FACTS,
    RecordAsylumDecision: _RESIDENCE_FACTS,
    ImposeWohnsitzauflage: _RESIDENCE_FACTS,
    RecordFirstContact: _CASE_WORK,
    RecordContact: _CASE_WORK,
    RecordProfile: _CASE_WORK,
    # The consent is collected by the responsible agency, on behalf of the recipients it names.
    GiveConsent: _CASE_WORK,
    WithdrawConsent: _CASE_WORK,
    ExpireConsent: _CASE_WORK,
    ReferToPartner: _CASE_WORK,
    RequestInterpreter: _CASE_WORK,
    AssignInterpreter: _CASE_WORK,
    RecordInterpreterSession: _CASE_WORK,
    RecordInterpreterNoShow: _CASE_WORK,
    RecordSgbIIApplication: Rule(
        "sgb2.by_responsible_agency_or_jobcenter",
        (
            Grant.to(RESPONSIBLE, Role.CASE_WORKER),
            Grant.to(JOBCENTER_OF_THE_TOWN, Role.CASE_WORKER),
        ),
    ),
    RequestHandOver: _CASE_WORK,
    AcceptHandOver: _RECEIVER_DECIDES,
    RejectHandOver: _RECEIVER_DECIDES,
    CloseCase: _CASE_WORK,
    ErasePerson: _ERASURE,
    # The retention job's (no endpoint): it signs as the controller's data protection.
    EraseCategory: _ERASURE,
}


def permit(case: Case | None, command: IntakeCommand, acting: Acting) -> None:
    """Refuse (``NotPermittedError`` naming the rule) what ``acting`` may not issue."""
    refusal = authorise(WHO_MAY_ISSUE, acting, command, case)
    if refusal is not None:
        raise NotPermittedError(refusal.rule, refusal.detail)
