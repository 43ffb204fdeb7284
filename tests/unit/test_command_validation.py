"""Bad input every command API refuses with 422, field and reason: blank or invisible names,
unknown ISO codes, births before 1900, dates of what already happened lying after today
(on a fixed clock), and rules over several fields naming those fields."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any, get_args
from uuid import uuid4

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from services.chassis.actors import CommandIdentity
from services.chassis.clock import berlin_today
from services.chassis.commandapi import acting_principal, identity_of
from services.chassis.http import service_app
from services.chassis.identity import Principal
from services.chassis.validation import NotInFuture, dates_in_future
from services.intake.api import router as intake_router
from services.intake.commands import IntakeCommand, RecordProfile, RegisterPerson
from services.language.api import router as language_router
from services.language.commands import LanguageCommand
from services.placement.api import router as placement_router
from services.placement.commands import PlacementCommand
from services.recognition.api import router as recognition_router
from services.recognition.commands import RecognitionCommand

TODAY = date(2016, 3, 1)
TOMORROW = TODAY + timedelta(days=1)
CASE = uuid4()
PERSON: dict[str, Any] = {
    "given_name": "Amal",
    "family_name": "Haddad",
    "date_of_birth": "1990-05-17",
    "nationality": "SYR",
    "languages": ["ar"],
    "site": "MG",
    "town": "Mönchengladbach",
    "allocated_on": "2016-02-01",
}


@asynccontextmanager
async def _no_ports(_: FastAPI) -> AsyncIterator[None]:
    yield


async def _fixed_today() -> date:
    return TODAY


async def _case_worker() -> Principal:
    """Validation comes before who acts is judged: any signed-in case worker will do."""
    return Principal(
        "AA-MG", "case_worker", "subject", "anna.aa", None, datetime.max.replace(tzinfo=UTC)
    )


def _identity() -> CommandIdentity:
    return CommandIdentity(verifier=None, reference_key=b"test-reference-key")


def _client(router: APIRouter) -> TestClient:
    app = service_app(title="t", description="t", lifespan=_no_ports, router=router)
    app.dependency_overrides[berlin_today] = _fixed_today
    app.dependency_overrides[acting_principal] = _case_worker
    app.dependency_overrides[identity_of] = _identity
    return TestClient(app)


@pytest.fixture(scope="module")
def clients() -> dict[str, TestClient]:
    return {
        "intake": _client(intake_router),
        "language": _client(language_router),
        "placement": _client(placement_router),
        "recognition": _client(recognition_router),
    }


def refusals(client: TestClient, path: str, body: dict[str, Any]) -> list[dict[str, str]]:
    """The problems of a 422 (the test fails on any other answer)."""
    answer = client.post(path, json=body)
    assert answer.status_code == 422, answer.text
    problems: list[dict[str, str]] = answer.json()["detail"]
    return problems


def fields_of(problems: list[dict[str, str]]) -> set[str]:
    return {p["field"] for p in problems}


# --- names and texts ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["", "   ", "\u200b", "\u00a0", "\u00a0\u200b \u2060", "\ufeff", "\u3164", "\u200d\u200c"],
    ids=["empty", "spaces", "zero-width", "no-break", "mixed", "bom", "hangul-filler", "joiners"],
)
def test_a_name_that_shows_nothing_is_refused(clients: dict[str, TestClient], name: str) -> None:
    """Names empty after trimming, or made only of invisible characters, are 422 on the field."""
    problems = refusals(clients["intake"], "/cases", {**PERSON, "family_name": name})

    assert fields_of(problems) == {"family_name"}


def test_a_name_without_any_letter_is_refused(clients: dict[str, TestClient]) -> None:
    """Punctuation alone ("-", ".") is no name."""
    problems = refusals(clients["intake"], "/cases", {**PERSON, "given_name": " - . "})

    assert problems == [
        {"field": "given_name", "reason": "Value error, a name needs at least one letter"}
    ]


@pytest.mark.parametrize(
    "name", ["Amal", "  Amal ", "Ṣāliḥ", "ሰላም", "نور", "O'Neil-Smith", "Zhang\u00a0Wei"]
)
def test_real_names_in_any_script_pass(name: str) -> None:
    """Names in Latin, Ethiopic and Arabic script pass; surrounding spaces are trimmed."""
    registered = RegisterPerson.model_validate({**PERSON, "given_name": name})

    assert registered.given_name == name.strip()


def test_a_blank_text_in_another_service_is_refused(clients: dict[str, TestClient]) -> None:
    """Texts other than names (an employer, a provider) must show something too."""
    problems = refusals(
        clients["placement"],
        f"/cases/{CASE}/measures",
        {
            "measure_id": str(uuid4()),
            "kind": "perf",
            "provider": "\u200b\u00a0",
            "started_on": "2016-02-01",
        },
    )

    assert fields_of(problems) == {"provider"}


# --- codes ----------------------------------------------------------------------------------


def test_unknown_country_and_language_codes_are_refused(clients: dict[str, TestClient]) -> None:
    """ZZZ is no ISO 3166-1 alpha-3 code and qq no ISO 639 code: each is named."""
    body = {**PERSON, "nationality": "ZZZ", "languages": ["ar", "qq"]}

    problems = refusals(clients["intake"], "/cases", body)

    assert fields_of(problems) == {"nationality", "languages.1"}
    assert all("ISO" in p["reason"] for p in problems)


@pytest.mark.parametrize(
    ("country", "languages"),
    [("SYR", ["ar"]), ("ERI", ["ti"]), ("AFG", ["fa", "prs", "ps"]), ("IRQ", ["ckb", "kmr"])],
)
def test_real_codes_pass(country: str, languages: list[str]) -> None:
    """Real codes of the people the Integration Points serve: ISO 639-1 and 639-3 alike."""
    registered = RegisterPerson.model_validate(
        {**PERSON, "nationality": country, "languages": languages}
    )

    assert registered.languages == tuple(languages)


def test_a_profile_names_the_entry_whose_country_is_unknown(clients: dict[str, TestClient]) -> None:
    """The countries of a CV are checked entry by entry, and the 422 names the entry."""
    body = {
        "schooling": [{"country": "SYR", "years": 9}],
        "work_history": [
            {"country": "SYR", "occupation": "Schneider", "from_year": 2008},
            {"country": "XYZ", "occupation": "Schneider", "from_year": 2012},
        ],
    }

    problems = refusals(clients["intake"], f"/cases/{CASE}/profile", body)

    assert fields_of(problems) == {"work_history.1.country"}
    assert RecordProfile.model_validate({**body, "work_history": body["work_history"][:1]})


def test_a_recognition_country_is_checked(clients: dict[str, TestClient]) -> None:
    """Where a qualification was obtained is an ISO country too."""
    body = {
        "procedure_id": str(uuid4()),
        "qualification_kind": "berufsabschluss",
        "qualification_title": "Elektriker",
        "country": "ZZZ",
        "counselled_by": "iq_beratung",
        "held_on": "2016-02-10",
    }

    assert fields_of(refusals(clients["recognition"], f"/cases/{CASE}/counselling", body)) >= {
        "country"
    }


# --- birth dates and future dates -----------------------------------------------------------


def test_a_birth_year_before_1900_is_refused(clients: dict[str, TestClient]) -> None:
    """1899-12-31 is refused naming date_of_birth; 1900-01-01 still passes."""
    problems = refusals(clients["intake"], "/cases", {**PERSON, "date_of_birth": "1899-12-31"})

    assert fields_of(problems) == {"date_of_birth"}
    assert "1900" in problems[0]["reason"]
    assert RegisterPerson.model_validate({**PERSON, "date_of_birth": "1900-01-01"})


def test_an_allocation_dated_tomorrow_is_refused(clients: dict[str, TestClient]) -> None:
    """The allocation cannot lie after today on the API's clock (a birth tomorrow is caught
    earlier: it would lie after the allocation)."""
    body = {**PERSON, "allocated_on": TOMORROW.isoformat()}

    problems = refusals(clients["intake"], "/cases", body)

    assert problems == [
        {
            "field": "allocated_on",
            "reason": "the date lies in the future (today is 2016-03-01 in Germany)",
        }
    ]


FUTURE_CASES = [
    ("intake", "first-contact", {}, "contacted_on"),
    ("intake", "contacts", {"channel": "phone"}, "contacted_on"),
    ("intake", "asylum-decision", {"outcome": "fluechtlingseigenschaft"}, "decided_on"),
    ("intake", "sgb2-application", {}, "applied_on"),
    ("intake", "closing", {"reason": "work"}, "closed_on"),
    ("language", "placement-tests", {"level": "A2"}, "taken_on"),
    (
        "language",
        "enrolments",
        {
            "enrolment_id": str(uuid4()),
            "entitlement_id": str(uuid4()),
            "provider": "VHS",
            "course_number": "215-1",
            "modules": ["Basis 1"],
        },
        "started_on",
    ),
    (
        "placement",
        "ba-consent-decisions",
        {"request_id": str(uuid4()), "granted": True},
        "decided_on",
    ),
    (
        "placement",
        "placements",
        {"placement_id": str(uuid4()), "kind": "praktikum", "employer": "Bäckerei"},
        "started_on",
    ),
    (
        "recognition",
        "decision",
        {
            "procedure_id": str(uuid4()),
            "outcome": "volle_gleichwertigkeit",
            "legal_basis": "bqfg",
        },
        "decided_on",
    ),
    (
        "recognition",
        "adaptation-start",
        {"procedure_id": str(uuid4()), "measure_id": str(uuid4()), "provider": "HWK"},
        "started_on",
    ),
]


@pytest.mark.parametrize(
    ("service", "path", "body", "field"),
    FUTURE_CASES,
    ids=[f"{c[0]}-{c[3]}-{c[1]}" for c in FUTURE_CASES],
)
def test_what_already_happened_cannot_lie_in_the_future(
    clients: dict[str, TestClient], service: str, path: str, body: dict[str, Any], field: str
) -> None:
    """Contacts, decisions and starts recorded as begun dated tomorrow are 422 on the field."""
    problems = refusals(
        clients[service], f"/cases/{CASE}/{path}", {**body, field: TOMORROW.isoformat()}
    )

    assert fields_of(problems) == {field}
    assert "future" in problems[0]["reason"]


def _commands(union: Any) -> tuple[type[BaseModel], ...]:
    return get_args(union)


ALL_COMMANDS = (
    *_commands(IntakeCommand),
    *_commands(LanguageCommand),
    *_commands(PlacementCommand),
    *_commands(RecognitionCommand),
)
# Dates that may lie ahead: limits, planned starts and deadlines, and what only reactions
# (never HTTP) issue, which restate events already checked.
FORWARD_LOOKING = frozenset(
    {
        "RecordResidenceStatus.valid_from",
        "RecordResidenceStatus.valid_until",
        "ImposeWohnsitzauflage.effective_from",
        "GiveConsent.valid_until",
        "RequestWorkPermission.start_date",
        "DecidePermission.valid_until",
        "RequestDocuments.due_on",
        "TransferEntitlements.effective_on",
        "NoteJugendberufsagenturRoute.noted_on",
    }
)


def test_every_command_date_is_either_past_or_listed_as_forward_looking() -> None:
    """A new date field on a command must be decided: marked not-in-future, or listed here."""
    dated = {
        f"{command.__name__}.{name}": any(isinstance(m, NotInFuture) for m in info.metadata)
        for command in ALL_COMMANDS
        for name, info in command.model_fields.items()
        if info.annotation in {date, date | None}
    }

    unmarked = {name for name, marked in dated.items() if not marked}

    assert unmarked == FORWARD_LOOKING
    assert dated["StartPlacement.started_on"]
    assert dated["RegisterPerson.allocated_on"]


def test_today_itself_is_not_the_future() -> None:
    """A contact dated today passes the check; tomorrow does not."""
    person = RegisterPerson.model_validate({**PERSON, "allocated_on": TODAY.isoformat()})

    assert list(dates_in_future(person, TODAY)) == []
    assert list(dates_in_future(person, TODAY - timedelta(days=1))) == [("allocated_on",)]


# --- rules over several fields --------------------------------------------------------------


def test_a_rule_over_two_fields_names_the_field_not_the_body(
    clients: dict[str, TestClient],
) -> None:
    """An allocation before the birth is reported under allocated_on, never under ""."""
    body = {**PERSON, "date_of_birth": "2016-02-10", "allocated_on": "2016-02-01"}

    problems = refusals(clients["intake"], "/cases", body)

    assert problems == [
        {"field": "allocated_on", "reason": "Value error, allocated_on lies before date_of_birth"}
    ]


def test_a_refusal_with_wrong_fields_names_each_of_them(clients: dict[str, TestClient]) -> None:
    """A refused permission that has a valid_until and restrictions names both."""
    body = {
        "request_id": str(uuid4()),
        "granted": False,
        "valid_until": "2017-01-01",
        "restrictions": ["nur Firma X"],
        "refusal_reason": "Vorrangprüfung",
        "decided_on": "2016-02-20",
    }

    problems = refusals(clients["placement"], f"/cases/{CASE}/permission-decisions", body)

    assert fields_of(problems) == {"valid_until", "restrictions"}


def test_no_whole_model_error_of_any_command_names_the_empty_field(
    clients: dict[str, TestClient],
) -> None:
    """Consent rules (blanket, guardian, witness, order of dates) each name a field."""
    consent = {
        "consent_id": str(uuid4()),
        "purposes": [],
        "recipients": [{"agency": "JC-MG"}],
        "data_categories": ["identity"],
        "notice_version": "2016-01",
        "notice_language": "ar",
        "method": "oral_with_witness",
        "given_on": "2016-02-10",
        "valid_until": "2016-02-01",
    }

    problems = refusals(clients["intake"], f"/cases/{CASE}/consents", consent)

    assert "" not in fields_of(problems)
    assert fields_of(problems) == {"purposes"}
    later = refusals(
        clients["intake"], f"/cases/{CASE}/consents", {**consent, "purposes": ["language_courses"]}
    )
    assert fields_of(later) == {"witness_name"}
