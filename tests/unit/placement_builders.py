"""Builders for placement's pure tests: a case told its facts by intake, commands with sane
defaults, and a story that runs commands through the real decider."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import pytest

from contracts.common import Site
from contracts.intake import ResidenceStatus
from contracts.placement import PlacementEvent
from services.chassis.rules import InvalidTransitionError
from services.placement.commands import (
    DecideBaConsent,
    DecidePermission,
    NoteResidenceFacts,
    PlacementCommand,
    RequestWorkPermission,
    ResidenceDocument,
    StartPlacement,
)
from services.placement.domain import PlacementCase, decide, fold

CASE = UUID("0192f2b0-1d00-7c11-8a3b-5e2f4a6b8c01")
INTAKE_EVENT = UUID("0192f1a0-7c3f-7000-8000-000000000005")
REQUEST = UUID("0192f2b0-1d00-7c11-8a3b-5e2f4a6b8e01")
PLACEMENT = UUID("0192f2b0-1d00-7c11-8a3b-5e2f4a6b9201")


def document(**overrides: Any) -> ResidenceDocument:
    """An Aufenthaltsgestattung since 2016-04-04 (month 6 in September 2016)."""
    fields: dict[str, Any] = {
        "status": ResidenceStatus.AUFENTHALTSGESTATTUNG,
        "stay_since": date(2016, 4, 4),
        "valid_until": date(2016, 10, 3),
    }
    return ResidenceDocument.model_validate(fields | overrides)


def facts(
    nationality: str = "IRQ", site: Site = Site.GV, **document_overrides: Any
) -> NoteResidenceFacts:
    return NoteResidenceFacts(
        source_event_id=INTAKE_EVENT,
        nationality=nationality,
        site=site,
        document=document(**document_overrides),
    )


def request(**overrides: Any) -> RequestWorkPermission:
    fields: dict[str, Any] = {
        "request_id": REQUEST,
        "employer": "Elektro Schmitz GmbH, Grevenbroich",
        "job_description": "Elektrohelfer in der Gebäudeinstallation",
        "job_type": "helfer",
        "start_date": date(2016, 9, 19),
        "requested_on": date(2016, 9, 5),
    }
    return RequestWorkPermission.model_validate(fields | overrides)


def ba_consent(granted: bool | None = True, on: date = date(2016, 9, 12)) -> DecideBaConsent:
    return DecideBaConsent(request_id=REQUEST, granted=granted, decided_on=on)


def grant(valid_until: date = date(2016, 10, 3), on: date = date(2016, 9, 14)) -> DecidePermission:
    return DecidePermission(
        request_id=REQUEST,
        granted=True,
        valid_until=valid_until,
        restrictions=("Beschäftigung nur bei Elektro Schmitz GmbH als Elektrohelfer",),
        decided_on=on,
    )


def helper_job(**overrides: Any) -> StartPlacement:
    fields: dict[str, Any] = {
        "placement_id": PLACEMENT,
        "kind": "beschaeftigung",
        "skill_level": "helfer",
        "employer": "Elektro Schmitz GmbH, Grevenbroich",
        "kldb": "26301",
        "started_on": date(2016, 9, 19),
        "work_permission_request_id": REQUEST,
    }
    return StartPlacement.model_validate(fields | overrides)


class Story:
    """A case's history, built command by command through the real decider."""

    def __init__(self, *commands: PlacementCommand) -> None:
        self.events: list[PlacementEvent] = []
        for command in commands:
            self.then(command)

    @property
    def case(self) -> PlacementCase | None:
        return fold(CASE, self.events)

    def then(self, command: PlacementCommand) -> list[PlacementEvent]:
        produced = decide(self.case, command)
        self.events += produced
        return produced

    def refused(self, command: PlacementCommand) -> str:
        """The rule that refuses ``command``; the history stays as it was."""
        before = list(self.events)
        with pytest.raises(InvalidTransitionError) as refusal:
            self.then(command)
        assert self.events == before
        return refusal.value.rule


def permitted_helper() -> Story:
    """The Iraqi helper's case with a granted permission for the job."""
    return Story(facts(), request(), ba_consent(), grant())
