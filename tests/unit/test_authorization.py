"""Who may issue what: each service's table (pure), and the document rendered from them."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import uuid4

import pytest
from fastapi.routing import APIRoute

from contracts.common import Site
from contracts.envelope import Agency
from services import authorization as doc
from services.chassis.authorization import (
    ROLES_OF_AGENCY,
    Acting,
    KnownCase,
    Role,
    authorise,
    permit_on_known_case,
)
from services.chassis.rules import InvalidTransitionError, NotPermittedError, UnknownCaseError
from services.intake.authority import WHO_MAY_ISSUE as INTAKE
from services.intake.commands import ErasePerson
from services.language.authority import WHO_MAY_ISSUE as LANGUAGE
from services.language.commands import IssueEntitlement, RecordAttendance
from services.placement.authority import WHO_MAY_ISSUE as PLACEMENT
from services.placement.commands import DecideBaConsent, DecidePermission, StartMeasure
from services.recognition.authority import WHO_MAY_ISSUE as RECOGNITION
from services.recognition.commands import SubmitApplication
from tests.unit.intake_builders import Story, register

MG_CASE = KnownCase(Agency.AA_MG, Site.MG)
NE_CASE_OF_JC = KnownCase(Agency.JC_RKN, Site.NE)
EVERYONE = [Acting(agency, role) for agency, roles in ROLES_OF_AGENCY.items() for role in roles]


def bare(command_type: type) -> Any:
    """A command without its fields: who may issue it does not depend on them."""
    return command_type.model_construct()  # type: ignore[attr-defined]


def allowed(table: dict[type, Any], command: object, case: object) -> set[tuple[str, str]]:
    """Every (agency, role) of the network that may issue ``command`` on ``case``."""
    return {
        (str(acting.agency), acting.role)
        for acting in EVERYONE
        if authorise(table, acting, command, case) is None
    }


def entitlement(issuer: str, agency: str | None, course: str = "integrationskurs") -> Any:
    return IssueEntitlement.model_validate(
        {
            "entitlement_id": str(uuid4()),
            "course_type": course,
            "kind": "verpflichtung" if course == "integrationskurs" else "berechtigung",
            "target_level": None if course == "integrationskurs" else "B2",
            "issuer": issuer,
            "issuing_agency": agency,
            "issued_on": "2016-03-01",
        }
    )


@pytest.mark.parametrize("service", sorted(doc.SERVICES))
def test_every_command_endpoint_has_a_rule(service: str) -> None:
    """No command route is allowed by omission: each one's command type is in the table."""
    table, router = doc.SERVICES[service]
    routed = {route.name for route in router.routes if isinstance(route, APIRoute)}
    commands = {command.__name__ for command in table}

    assert routed - {"key_rotation", "person_key"} <= commands


@pytest.mark.parametrize("service", sorted(doc.SERVICES))
def test_steering_and_partners_write_nothing(service: str) -> None:
    """Neither the steering role nor a principal of no agency may issue any command."""
    table, _ = doc.SERVICES[service]
    principals = [Acting(agency, Role.STEERING) for agency in Agency]
    principals.append(Acting.of("iq_counselling", Role.CASE_WORKER))

    for command_type in table:
        command = bare(command_type)
        assert all(authorise(table, who, command, MG_CASE) for who in principals), command_type


def test_an_integrationskurs_obligation_is_recorded_by_its_issuer() -> None:
    """§ 44a AufenthG: the ABH of the case's town, or the responsible Jobcenter as itself."""
    by_stadt = entitlement("abh", "STADT-MG")
    by_kreis = entitlement("abh", "RKN")
    by_jobcenter = entitlement("jobcenter", "JC-RKN")

    assert allowed(LANGUAGE, by_stadt, MG_CASE) == {("STADT-MG", "abh_case_worker")}
    assert allowed(LANGUAGE, by_stadt, NE_CASE_OF_JC) == set()  # not the town's ABH
    assert allowed(LANGUAGE, by_kreis, NE_CASE_OF_JC) == {("RKN", "abh_case_worker")}
    assert allowed(LANGUAGE, by_jobcenter, NE_CASE_OF_JC) == {("JC-RKN", "case_worker")}
    assert allowed(LANGUAGE, by_jobcenter, MG_CASE) == set()  # the Agentur's case


def test_a_berufssprachkurs_entitlement_comes_from_the_responsible_agency() -> None:
    """DeuFöV: the Agentur issues for its own case; another agency naming it is refused."""
    command = entitlement("agentur", "AA-MG", course="berufssprachkurs_basis")

    assert allowed(LANGUAGE, command, MG_CASE) == {("AA-MG", "case_worker")}
    refusal = authorise(LANGUAGE, Acting(Agency.JC_MG, Role.CASE_WORKER), command, MG_CASE)
    assert refusal is not None
    assert refusal.rule == "language.entitlement_by_its_issuer"


def test_the_course_is_recorded_by_the_responsible_agency_only() -> None:
    """Attendance on the Jobcenter's case: its case worker, nobody else."""
    command = bare(RecordAttendance)

    assert allowed(LANGUAGE, command, NE_CASE_OF_JC) == {("JC-RKN", "case_worker")}


def test_work_permission_is_the_abh_and_the_consent_the_agentur() -> None:
    """The ABH of the case's town decides; the BA's consent is the Agentur's, whoever is
    responsible; measures are the responsible agency's."""
    assert allowed(PLACEMENT, bare(DecidePermission), NE_CASE_OF_JC) == {("RKN", "abh_case_worker")}
    assert allowed(PLACEMENT, bare(DecideBaConsent), NE_CASE_OF_JC) == {("AA-MG", "case_worker")}
    assert allowed(PLACEMENT, bare(StartMeasure), NE_CASE_OF_JC) == {("JC-RKN", "case_worker")}


def test_after_a_hand_over_the_sender_records_no_recognition_step() -> None:
    """Once the Jobcenter is responsible, the Agentur's application is refused by name."""
    after = KnownCase(Agency.JC_MG, Site.MG)
    acting = Acting(Agency.AA_MG, Role.CASE_WORKER)

    refusal = authorise(RECOGNITION, acting, bare(SubmitApplication), after)

    assert refusal is not None
    assert refusal.rule == "recognition.responsible_agency_records"
    assert "AA-MG as case_worker" in refusal.detail


def test_an_unknown_case_is_404_before_who_is_asked() -> None:
    """A case the service never heard of is refused as unknown, even for the right agency;
    an erased one by its state; a known one by the table."""
    acting = Acting(Agency.AA_MG, Role.CASE_WORKER)
    command = bare(SubmitApplication)

    with pytest.raises(UnknownCaseError) as unknown:
        permit_on_known_case(RECOGNITION, acting, command, None)
    with pytest.raises(InvalidTransitionError) as erased:
        permit_on_known_case(RECOGNITION, acting, command, KnownCase(Agency.AA_MG, Site.MG, True))
    with pytest.raises(NotPermittedError):
        permit_on_known_case(RECOGNITION, acting, command, NE_CASE_OF_JC)

    assert unknown.value.rule == "case.unknown"
    assert erased.value.rule == "case.erased"
    permit_on_known_case(RECOGNITION, acting, command, MG_CASE)


def test_a_command_missing_from_the_table_is_refused() -> None:
    """Nothing is allowed by omission."""
    refusal = authorise({}, Acting(Agency.AA_MG, Role.CASE_WORKER), date(2016, 1, 1), MG_CASE)

    assert refusal is not None
    assert refusal.rule == "command.not_in_the_table"


def test_the_reviewed_document_is_the_code() -> None:
    """docs/authorization.md is what `python -m services.authorization --write` renders."""
    assert doc.DOC.read_text() == doc.document()


def test_a_registration_is_the_agenturs_or_the_abh_of_the_town() -> None:
    """A person allocated to Neuss is registered by the Agentur or the Rhein-Kreis's ABH."""
    command = register(site=Site.NE, town="Neuss")

    assert allowed(INTAKE, command, None) == {("AA-MG", "case_worker"), ("RKN", "abh_case_worker")}


def test_the_responsible_agencys_data_protection_erases() -> None:
    """Erasure: the responsible agency's case worker or data protection, not another's."""
    erase = ErasePerson(reason="Antrag nach Art. 17 DSGVO", erased_on=date(2016, 5, 2))
    story = Story()

    assert allowed(INTAKE, erase, story.case()) == {
        ("AA-MG", "case_worker"),
        ("AA-MG", "data_protection"),
    }
    assert story.then(erase, Agency.AA_MG, Role.DATA_PROTECTION)[0].type == "intake.person_erased"
