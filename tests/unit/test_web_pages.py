"""The web's handlers through the real app, with the network replaced by a small fake of the
view and the services: sign-in, the caseload, a refused command shown next to its field, an
accepted one waited for, and the steering page's charts."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from services.chassis.auth import verify
from services.projections.purpose import ViewId
from services.web.app import create_app
from services.web.session import COOKIE
from services.web.settings import WebSettings

SECRET = "web-handler-test-secret-0123456789"
VIEW = "http://view.test"
STEERING = "http://steering.test"


@dataclass
class FakeWorld:
    """What the view holds and what the services were sent."""

    held: dict[UUID, list[dict[str, Any]]] = field(default_factory=dict)
    sent: list[httpx.Request] = field(default_factory=list)
    answers: list[httpx.Response] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:  # noqa: PLR0911  # a router
        assert request.headers.get("Authorization", "").startswith("Bearer ") or (
            request.method == "POST"
        )
        url = str(request.url)
        if url.startswith(f"{VIEW}/cases/"):
            case_id = UUID(url.rsplit("/", 1)[1])
            if case_id not in self.held:
                return httpx.Response(403, json={"detail": "not visible to this agency"})
            return httpx.Response(200, json={"case_id": str(case_id), "events": self.held[case_id]})
        if url.startswith(f"{VIEW}/cases"):
            return httpx.Response(200, json=[str(c) for c in self.held])
        if url.startswith(f"{VIEW}/caseload"):
            timelines = [{"case_id": str(c), "events": e} for c, e in self.held.items()]
            return httpx.Response(200, json=timelines)
        if url == f"{STEERING}/months":
            return httpx.Response(200, json=["2016-02", "2016-03"])
        if url.startswith(f"{STEERING}/figures?"):
            return httpx.Response(200, json={"month": "2016-03", "rows": steering_rows()})
        if request.method == "POST":
            self.sent.append(request)
            return self.answers.pop(0)
        return httpx.Response(404)


def steering_rows() -> list[dict[str, Any]]:
    def row(figure: str, site: str, value: float | None) -> dict[str, Any]:
        return {
            "figure": figure,
            "version": f"{figure}@1",
            "month": "2016-03",
            "site": site,
            "rechtskreis": "SGB III",
            "age_band": "25 und älter",
            "value": value,
            "persons": None if value is None else int(value),
            "suppressed": value is None,
        }

    return [row("caseload", "MG", 7.0), row("caseload", "NE", None), row("exits.x", "MG", None)]


def registration(given: str, allocated_on: str) -> dict[str, Any]:
    return {
        "event_id": str(uuid4()),
        "type": "intake.person_registered",
        "category": "identity",
        "occurred_at": f"{allocated_on}T09:00:00+00:00",
        "read_only": False,
        "data": {
            "given_name": given,
            "family_name": "Haddad",
            "site": "MG",
            "town": "Mönchengladbach",
            "allocated_on": allocated_on,
        },
    }


@pytest.fixture
def world() -> FakeWorld:
    return FakeWorld()


@pytest.fixture
def client(world: FakeWorld, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setattr("services.web.cases.CATCH_UP_SECONDS", 1.0)
    settings = WebSettings(
        token_secret=SecretStr(SECRET),
        web_dev_sign_in=True,
        web_view_urls={ViewId.AA_MG: VIEW},
        web_steering_url=STEERING,
    )
    app = create_app(settings, transport=httpx.MockTransport(world.handle))
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


def sign_in(client: TestClient, role: str = "case_worker") -> None:
    answer = client.post(
        "/anmelden",
        data={"agency": "AA-MG", "role": role, "user": "anna", "purpose": "counselling"},
    )
    assert answer.status_code == 303


def test_pages_need_a_signed_in_user() -> None:
    """Without a session cookie every page sends the browser to the sign-in page."""
    settings = WebSettings(token_secret=SecretStr(SECRET))
    with TestClient(create_app(settings), follow_redirects=False) as client:
        answer = client.get("/faelle")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/anmelden"
        assert "dev-anmeldung" not in client.get("/anmelden").text  # dev sign-in is off


def test_dev_sign_in_sets_a_signed_http_only_cookie(client: TestClient) -> None:
    """The dev issuer's token is the views' kind: verifiable with the secret, HttpOnly."""
    answer = client.post(
        "/anmelden",
        data={"agency": "JC-MG", "role": "case_worker", "user": "anna", "purpose": "placement"},
    )

    assert answer.status_code == 303
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    claims = verify(SECRET, client.cookies[COOKIE], datetime.now(UTC))
    assert (claims.agency, claims.role, claims.user, claims.purpose) == (
        "JC-MG",
        "case_worker",
        "anna",
        "placement",
    )


def test_a_forged_token_is_refused(client: TestClient) -> None:
    """A token signed with another secret does not sign anyone in."""
    answer = client.post("/anmelden", data={"token": "a.b.c"})

    assert answer.status_code == 401
    assert COOKIE not in client.cookies


def test_the_caseload_lists_and_filters_what_the_view_holds(
    client: TestClient, world: FakeWorld
) -> None:
    """Every case of the view is summarised; the overdue filter keeps only the late one."""
    late, fresh = uuid4(), uuid4()
    world.held[late] = [registration("Amina", "2016-01-04")]
    world.held[fresh] = [registration("Yonas", "2099-01-01")]
    sign_in(client)

    everything = client.get("/faelle").text
    overdue = client.get("/faelle", params={"ueberfaellig": "1"}).text

    assert "Haddad, Amina" in everything
    assert "Haddad, Yonas" in everything
    assert "Haddad, Amina" in overdue
    assert "Haddad, Yonas" not in overdue


def test_a_422_is_shown_next_to_the_field_and_the_input_kept(
    client: TestClient, world: FakeWorld
) -> None:
    """The registration's refusal lands next to the nationality field; what was typed stays."""
    world.answers.append(
        httpx.Response(
            422,
            json={
                "detail": [
                    {"field": "nationality", "reason": "String should match pattern '^[A-Z]{3}$'"}
                ]
            },
        )
    )
    sign_in(client)
    form = {
        "vorgang": "key-of-this-registration",
        "given_name": "Amina",
        "family_name": "Haddad",
        "date_of_birth": "1989-03-14",
        "nationality": "syrisch",
        "languages": "ar",
        "site": "MG",
        "town": "Mönchengladbach",
        "allocated_on": "2016-02-01",
    }

    answer = client.post("/registrieren", data=form)

    assert answer.status_code == 422
    error = re.search(r'data-field="(\w+)">([^<]+)<', answer.text)
    assert error is not None
    assert error.groups() == ("nationality", "Drei Großbuchstaben (ISO-Code), z. B. SYR")
    assert 'value="syrisch"' in answer.text
    (sent,) = world.sent
    assert sent.headers["Authorization"].startswith("Bearer ")  # the user's own token
    assert "X-Agency" not in sent.headers
    assert sent.headers["Idempotency-Key"] == "key-of-this-registration"
    assert json.loads(sent.content)["languages"] == ["ar"]
    assert sent.headers["traceparent"].startswith("00-")  # the click and the command: one trace


def test_a_409_is_shown_as_a_message_on_the_case(client: TestClient, world: FakeWorld) -> None:
    """A rule violation re-renders the case with the rule above the form that was sent."""
    case_id = uuid4()
    world.held[case_id] = [registration("Amina", "2016-02-01")]
    world.answers.append(
        httpx.Response(409, json={"rule": "first_contact.only_once", "detail": "already"})
    )
    sign_in(client)

    answer = client.post(
        f"/faelle/{case_id}/erstkontakt", data={"contacted_on": "2016-02-09", "vorgang": "k" * 8}
    )

    assert answer.status_code == 409
    assert "Regel first_contact.only_once" in answer.text
    assert str(world.sent[0].url).endswith(f"/cases/{case_id}/first-contact")


def test_an_accepted_command_waits_for_the_view_then_redirects(
    client: TestClient, world: FakeWorld
) -> None:
    """After a 201 the case worker lands on the case with the confirmation."""
    case_id = uuid4()
    world.held[case_id] = [registration("Amina", "2016-02-01")]
    world.answers.append(
        httpx.Response(201, json={"case_id": str(case_id), "version": 2, "replayed": False})
    )
    sign_in(client)

    answer = client.post(f"/faelle/{case_id}/erstkontakt", data={"contacted_on": "2016-02-09"})

    assert answer.status_code == 303
    assert answer.headers["location"].startswith(f"/faelle/{case_id}?meldung=Erstkontakt")


def test_the_steering_page_draws_shown_cells_and_marks_suppressed_ones(client: TestClient) -> None:
    """Bars for figures with a shown cell; a figure of only suppressed cells is listed apart;
    the latest month is the default."""
    sign_in(client, role="steering")

    page = client.get("/steuerung").text

    assert "Steuerungsbericht 2016-03" in page
    assert 'data-figure="caseload"' in page
    assert "MG III 25+: 7 (7 Personen)" in page
    assert "NE III 25+: unterdrückt" in page
    assert 'data-figure="exits.x"' not in page
    assert "exits.x" in page
