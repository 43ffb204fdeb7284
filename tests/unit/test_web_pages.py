"""The web's handlers through the real app, with the network replaced by a small fake of the
view, the services and the OpenID Connect provider: sign-in (authorization code with PKCE),
the caseload, a refused command shown next to its field, an
accepted one waited for, and the steering page's charts."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit
from uuid import UUID, uuid4

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from services.projections.purpose import ViewId
from services.web.app import create_app
from services.web.session import COOKIE, REFRESH_COOKIE
from services.web.settings import WebSettings

VIEW = "http://view.test"
STEERING = "http://steering.test"
ISSUER = "http://idp.test/realms/ip"
PROVIDER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
JWK = {**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(PROVIDER_KEY.public_key())), "kid": "k1"}


def provider_token(agency: str, role: str, purpose: str | None) -> str:
    """An access token as the fake provider signs it."""
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": "ip-platform", "sub": "s-1", "iat": now, "exp": now + 300}
    claims |= {"agency": agency, "role": role, "preferred_username": "anna.aa"}
    if purpose:
        claims["purpose"] = purpose
    return jwt.encode(claims, PROVIDER_KEY, algorithm="RS256", headers={"kid": "k1"})


@dataclass
class FakeWorld:
    """What the view holds and what the services were sent."""

    held: dict[UUID, list[dict[str, Any]]] = field(default_factory=dict)
    sent: list[httpx.Request] = field(default_factory=list)
    answers: list[httpx.Response] = field(default_factory=list)
    role: str = "case_worker"  # whom the fake provider signs in
    challenges: dict[str, str] = field(default_factory=dict)  # code -> PKCE challenge

    def provider(self, request: httpx.Request) -> httpx.Response | None:  # noqa: PLR0911  # a router
        """The fake provider: discovery, keys, and the code exchange (checking PKCE)."""
        url = str(request.url)
        if url == f"{ISSUER}/.well-known/openid-configuration":
            endpoints = {
                "authorization_endpoint": f"{ISSUER}/auth",
                "token_endpoint": f"{ISSUER}/token",
                "end_session_endpoint": f"{ISSUER}/logout",
            }
            return httpx.Response(200, json={**endpoints, "jwks_uri": f"{ISSUER}/certs"})
        if url == f"{ISSUER}/certs":
            return httpx.Response(200, json={"keys": [JWK]})
        if url == f"{ISSUER}/token":
            form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
            if form.get("grant_type") == "refresh_token":
                if form.get("refresh_token") != "refresh-1":
                    return httpx.Response(400, json={"error": "invalid_grant"})
                token = provider_token("AA-MG", self.role, "counselling")
                return httpx.Response(200, json={"access_token": token, "token_type": "Bearer"})
            verifier = form.get("code_verifier", "").encode()
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=")
            if self.challenges.get(form.get("code", "")) != digest.decode():
                return httpx.Response(400, json={"error": "invalid_grant"})
            token = provider_token("AA-MG", self.role, "counselling")
            tokens = {"access_token": token, "token_type": "Bearer", "id_token": "id-1"}
            return httpx.Response(200, json={**tokens, "refresh_token": "refresh-1"})
        return None

    def handle(self, request: httpx.Request) -> httpx.Response:  # noqa: PLR0911  # a router
        if (answer := self.provider(request)) is not None:
            return answer
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
            body = {"month": "2016-03", "rows": steering_rows(), "totals": steering_totals()}
            return httpx.Response(200, json=body)
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


def steering_totals() -> list[dict[str, Any]]:
    def total(
        area: str, rechtskreis: str | None, label: str, value: float | None
    ) -> dict[str, Any]:
        return {
            "figure": "caseload",
            "version": "caseload@1",
            "area": area,
            "rechtskreis": rechtskreis,
            "age_band": None,
            "label": label,
            "value": value,
            "persons": None if value is None else int(value),
            "suppressed": value is None,
        }

    return [
        total("IP-MG", None, "IP Mönchengladbach gesamt", 9.0),
        total("IP-RKN", "SGB II", "Jobcenter Rhein-Kreis Neuss", None),
    ]


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
        oidc_issuer=ISSUER,
        web_view_urls={ViewId.AA_MG: VIEW},
        web_steering_url=STEERING,
    )
    app = create_app(settings, transport=httpx.MockTransport(world.handle))
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


def start(client: TestClient, world: FakeWorld, purpose: str = "counselling") -> dict[str, str]:
    """The browser's way to the provider's login page: the query the web sent it with."""
    answer = client.get("/anmelden/start", params={"zweck": purpose})
    assert answer.status_code == 303, answer.text
    query = {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["location"]).query).items()}
    world.challenges["code-1"] = query["code_challenge"]  # the provider keeps the challenge
    return query


def sign_in(client: TestClient, world: FakeWorld, role: str = "case_worker") -> httpx.Response:
    world.role = role
    query = start(client, world)
    params = {"state": query["state"], "code": "code-1"}
    answer: httpx.Response = client.get("/anmelden/rueckkehr", params=params)
    assert answer.status_code == 303, answer.text
    return answer


def test_pages_need_a_signed_in_user(client: TestClient) -> None:
    """Without a session cookie every page sends the browser to the sign-in page."""
    answer = client.get("/faelle")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/anmelden"


def test_sign_in_starts_the_code_flow_with_pkce(client: TestClient, world: FakeWorld) -> None:
    """The web sends the browser to the provider with its client, a state, an S256 code
    challenge and the purpose's scope, and keeps state and verifier in an HttpOnly,
    SameSite=Lax cookie (the provider's redirect back is a cross-site navigation)."""
    query = start(client, world, purpose="placement")

    assert query["client_id"] == "ip-web"
    assert query["response_type"] == "code"
    assert query["code_challenge_method"] == "S256"
    assert query["scope"] == "openid purpose-placement"
    assert query["redirect_uri"] == "http://127.0.0.1:8200/anmelden/rueckkehr"
    assert len(query["state"]) >= 32


def test_the_return_signs_in_with_an_http_only_lax_cookie(
    client: TestClient, world: FakeWorld
) -> None:
    """The provider's code, exchanged with the verifier, gives the access token the views
    verify; it is kept HttpOnly and SameSite=Lax; the caseload opens."""
    answer = sign_in(client, world)

    assert answer.headers["location"] == "/faelle"
    cookies = answer.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith(f"{COOKIE}="))
    assert "HttpOnly" in session
    assert "SameSite=lax" in session
    assert client.get("/faelle").status_code == 200


def test_a_return_with_another_state_is_refused(client: TestClient, world: FakeWorld) -> None:
    """A code arriving with a state the browser's sign-in did not start signs no one in."""
    start(client, world)
    answer = client.get("/anmelden/rueckkehr", params={"state": "not-ours", "code": "code-1"})

    assert answer.status_code == 400
    assert COOKIE not in client.cookies


def test_an_expired_session_is_renewed_with_the_refresh_token(
    client: TestClient, world: FakeWorld
) -> None:
    """An expired access token with a refresh token: the page goes through the renewal,
    which gets a new access token from the provider, and back to the page."""
    sign_in(client, world)
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": "ip-platform", "sub": "s-1", "iat": now - 900}
    claims |= {"exp": now - 600, "agency": "AA-MG", "role": "case_worker"}
    claims["preferred_username"] = "anna.aa"
    expired = jwt.encode(claims, PROVIDER_KEY, algorithm="RS256", headers={"kid": "k1"})
    client.cookies.clear()
    client.cookies.set(COOKIE, expired)
    client.cookies.set(REFRESH_COOKIE, "refresh-1")  # what the sign-in kept

    page = client.get("/faelle")
    assert page.status_code == 303
    assert page.headers["location"] == "/anmelden/erneuern?ziel=%2Ffaelle"
    renewed = client.get("/anmelden/erneuern", params={"ziel": "/faelle"})
    assert renewed.status_code == 303
    assert renewed.headers["location"] == "/faelle"
    assert f"{COOKIE}=" in renewed.headers["set-cookie"]
    assert client.get("/faelle").status_code == 200


def test_sign_out_ends_the_session_here_and_at_the_provider(
    client: TestClient, world: FakeWorld
) -> None:
    """Abmelden deletes the cookies and sends the browser to the provider's end-session
    endpoint with the ID token, back to the sign-in page."""
    sign_in(client, world)

    answer = client.post("/abmelden")

    assert answer.status_code == 303
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    assert answer.headers["location"].startswith(f"{ISSUER}/logout?")
    assert query["id_token_hint"] == ["id-1"]
    assert query["post_logout_redirect_uri"] == ["http://127.0.0.1:8200/anmelden"]
    assert COOKIE not in client.cookies


def test_a_forged_session_token_is_refused(client: TestClient) -> None:
    """A session cookie that is no genuine token of the provider opens no page."""
    client.cookies.set(COOKIE, "a.b.c")
    answer = client.get("/faelle")

    assert answer.status_code == 303
    assert answer.headers["location"] == "/anmelden"


def test_the_caseload_lists_and_filters_what_the_view_holds(
    client: TestClient, world: FakeWorld
) -> None:
    """Every case of the view is summarised; the overdue filter keeps only the late one."""
    late, fresh = uuid4(), uuid4()
    world.held[late] = [registration("Amina", "2016-01-04")]
    world.held[fresh] = [registration("Yonas", "2099-01-01")]
    sign_in(client, world)

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
    sign_in(client, world)
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
    sign_in(client, world)

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
    sign_in(client, world)

    answer = client.post(f"/faelle/{case_id}/erstkontakt", data={"contacted_on": "2016-02-09"})

    assert answer.status_code == 303
    assert answer.headers["location"].startswith(f"/faelle/{case_id}?meldung=Erstkontakt")


def test_the_steering_page_draws_shown_cells_and_marks_suppressed_ones(
    client: TestClient, world: FakeWorld
) -> None:
    """Bars for figures with a shown cell, and for their totals (German names, suppressed
    ones hatched); a figure of only suppressed cells is listed apart; the latest month is the
    default."""
    sign_in(client, world, role="steering")

    page = client.get("/steuerung").text

    assert "Steuerungsbericht 2016-03" in page
    assert 'data-figure="caseload"' in page
    assert "MG III 25+: 7 (7 Personen)" in page
    assert "NE III 25+: unterdrückt (Geheimhaltung)" in page
    assert "IP Mönchengladbach gesamt: 9 (9 Personen)" in page
    assert "Jobcenter Rhein-Kreis Neuss: unterdrückt (Geheimhaltung)" in page
    assert ">JC RKN</text>" in page
    assert 'data-figure="exits.x"' not in page
    assert "exits.x" in page
