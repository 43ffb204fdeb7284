"""The demo data of ``make run``: every command it sends is one the services accept as
input, and it covers what the caseload and the steering report should show."""

from __future__ import annotations

from datetime import date, timedelta
from uuid import uuid4

import pytest
from fastapi.routing import APIRoute
from pydantic import BaseModel

from contracts.common import Site, site_of_town
from deploy.local import demo
from services.chassis.validation import dates_in_future
from services.intake.api import router as intake
from services.language.api import router as language
from services.placement.api import router as placement
from services.recognition.api import router as recognition
from services.web.caseload import FIRST_CONTACT_DUE

TODAY = date(2026, 11, 27)
ROUTERS = {
    "intake": intake,
    "language": language,
    "recognition": recognition,
    "placement": placement,
}


def command_at(service: str, path: str) -> type[BaseModel]:
    """The command model the service's route takes as its body."""
    (route,) = [
        r
        for r in ROUTERS[service].routes
        if isinstance(r, APIRoute) and "POST" in (r.methods or set()) and r.path == path
    ]
    assert route.body_field is not None
    model = route.body_field.field_info.annotation
    assert isinstance(model, type)
    assert issubclass(model, BaseModel)
    return model


@pytest.mark.parametrize("person", demo.PERSONS, ids=lambda p: p.family_name)
def test_every_demo_command_is_valid_input(person: demo.DemoPerson) -> None:
    """Each body validates against its route's command model (no 422 at `make run`), and no
    step is dated before the allocation or after today."""
    registered = command_at("intake", "/cases").model_validate(demo.registration(person, TODAY))
    assert list(dates_in_future(registered, TODAY)) == []
    allocated = TODAY - timedelta(days=person.allocated_days_ago)
    for step in demo.steps(person, uuid4(), TODAY):
        command = command_at(step.service, f"/cases/{{case_id}}/{step.path}")
        assert list(dates_in_future(command.model_validate(step.body), TODAY)) == [], step.path
        dates = [date.fromisoformat(v) for k, v in step.body.items() if k.endswith("_on")]
        assert all(allocated <= d <= TODAY for d in dates), (step.path, dates)


def test_the_demo_covers_sites_rechtskreise_and_overdue_first_contacts() -> None:
    """All three sites; SGB II cases at both Jobcenters; first contacts overdue and in time;
    language, recognition and placement steps."""
    sites = {site_of_town(p.town) for p in demo.PERSONS}
    jobcenter = [p for p in demo.PERSONS if p.stage is demo.Stage.JOBCENTER]
    overdue = [
        p
        for p in demo.PERSONS
        if p.contact_after_days is None and timedelta(p.allocated_days_ago) > FIRST_CONTACT_DUE
    ]
    waiting = [p for p in demo.PERSONS if p.contact_after_days is None]
    services = {s.service for p in demo.PERSONS for s in demo.steps(p, uuid4(), TODAY)}

    assert sites == set(Site)
    assert {site_of_town(p.town) for p in jobcenter} >= {Site.MG, Site.NE}  # JC-MG and JC-RKN
    assert 0 < len(overdue) < len(waiting)
    assert services == {"intake", "language", "recognition", "placement"}


def test_the_idempotency_keys_are_stable_and_distinct() -> None:
    """The same person and step always give the same ids; different persons never share one."""
    first, second = demo.PERSONS[0], demo.PERSONS[1]
    case = uuid4()

    assert demo.steps(first, case, TODAY) == demo.steps(first, case, TODAY)
    ids = {
        s.body[k]
        for p in (first, second)
        for s in demo.steps(p, case, TODAY)
        for k in ("procedure_id", "measure_id", "entitlement_id")
        if k in s.body
    }
    assert len(ids) == 4  # Haddad: entitlement, procedure, measure; Tesfaye: entitlement


def test_the_partner_example_has_something_to_receive() -> None:
    """Every person with a recognition counselling first consents to IQ for recognition with
    recognition data, so a partner added at `make run` receives their counselling."""
    counselled = [p for p in demo.PERSONS if p.stage is demo.Stage.RECOGNITION]
    assert counselled
    for person in counselled:
        paths = [s.path for s in demo.steps(person, uuid4(), TODAY)]
        consent = next(s.body for s in demo.steps(person, uuid4(), TODAY) if s.path == "consents")
        assert paths.index("consents") < paths.index("counselling")
        assert consent["recipients"] == [{"partner": "iq_counselling"}]
        assert "recognition" in consent["purposes"]
        assert "recognition" in consent["data_categories"]
