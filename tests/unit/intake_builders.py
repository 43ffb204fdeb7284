"""Builders for intake's pure tests: a case in a known state, commands with sane defaults."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any
from uuid import UUID

from contracts.common import Site
from contracts.envelope import Agency
from contracts.intake import AsylumOutcome, IdentifierKind, IntakeEvent, ResidenceStatus
from services.chassis.authorization import RESIDENCE_AUTHORITY, Acting, Role
from services.intake.case import Case
from services.intake.commands import (
    GiveConsent,
    IntakeCommand,
    LinkIdentifier,
    RecordAsylumDecision,
    RecordResidenceStatus,
    RegisterPerson,
)
from services.intake.domain import decide, decide_as, fold

CASE = UUID("0192f1a0-7c3e-7a51-9b6e-3f0c2d1e4a55")


def register(**overrides: Any) -> RegisterPerson:
    fields: dict[str, Any] = {
        "given_name": "Amina",
        "family_name": "Haddad",
        "date_of_birth": date(1989, 3, 14),
        "nationality": "SYR",
        "languages": ("ar",),
        "site": Site.MG,
        "town": "Mönchengladbach",
        "allocated_on": date(2016, 2, 1),
    }
    return RegisterPerson.model_validate(fields | overrides)


class Story:
    """A case's history built command by command through the real decider."""

    def __init__(self, registration: RegisterPerson | None = None) -> None:
        self.events: list[IntakeEvent] = decide(None, registration or register())

    def case(self, acting: Agency = Agency.AA_MG) -> Case:
        case = fold(CASE, self.events)
        assert case is not None
        return replace(case, acting=acting)

    def then(
        self, command: IntakeCommand, acting: Agency = Agency.AA_MG, role: Role | None = None
    ) -> list[IntakeEvent]:
        """Decide as a case worker of ``acting`` (the ABH's case worker for a municipality)."""
        if role is None:
            abh = acting in RESIDENCE_AUTHORITY.values()
            role = Role.ABH_CASE_WORKER if abh else Role.CASE_WORKER
        produced = decide_as(self.case(acting), command, Acting(acting, role))
        self.events += produced
        return produced

    def with_package_basics(self) -> Story:
        """BAMF file number and a residence status: the mandatory hand-over items."""
        self.then(LinkIdentifier(kind=IdentifierKind.BAMF_AKTENZEICHEN, value="6543210-475"))
        self.then(
            RecordResidenceStatus(
                status=ResidenceStatus.AUFENTHALTSGESTATTUNG,
                valid_from=date(2016, 2, 1),
                stay_since=date(2016, 1, 10),
            )
        )
        return self

    def with_protection(self) -> Story:
        self.then(
            RecordAsylumDecision(
                outcome=AsylumOutcome.FLUECHTLINGSEIGENSCHAFT, decided_on=date(2016, 6, 1)
            )
        )
        return self


def consent(**overrides: Any) -> GiveConsent:
    fields: dict[str, Any] = {
        "consent_id": UUID("0192f1a0-7c40-7000-8000-000000000001"),
        "purposes": ["counselling", "recognition"],
        "recipients": [
            {"agency": "AA-MG"},
            {"partner": "iq_counselling", "named_person": "Frau Berger"},
        ],
        "data_categories": ["identity", "profile"],
        "notice_version": "2016-01",
        "notice_language": "ar",
        "method": "written",
        "given_on": date(2016, 2, 9),
    }
    return GiveConsent.model_validate(fields | overrides)
