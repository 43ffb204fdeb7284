"""Signed tokens: issue and verify, expiry, tampering, the bearer dependency, the dev CLI, and
which token a view lets read what."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Annotated

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from services.chassis import auth
from services.chassis.auth import (
    BadSignatureError,
    Claims,
    ExpiredTokenError,
    MalformedTokenError,
    issue,
    require_token,
    verify,
)
from services.projections.agency_api import NOT_VISIBLE, TOKEN_AGENCY, Read, refusal
from services.projections.purpose import ViewId

SECRET = "unit-test-secret-0123456789"
NOW = datetime(2016, 6, 20, 9, 0, tzinfo=UTC)
CLAIMS = Claims(
    agency="JC-MG",
    role="case_worker",
    user="anna",
    purpose="counselling",
    issued_at=NOW,
    expires_at=NOW + timedelta(hours=8),
)


def _part(token: str, index: int) -> dict[str, object]:
    raw = token.split(".")[index]
    decoded: dict[str, object] = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    return decoded


def _encoded(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def test_issued_token_verifies_to_its_claims() -> None:
    """A token issued with a secret verifies with it to the same claims."""
    token = issue(SECRET, CLAIMS)
    assert verify(SECRET, token, NOW + timedelta(hours=1)) == CLAIMS


def test_token_is_a_compact_hs256_jwt() -> None:
    """Three base64url parts; the header says HS256, the payload carries iat/exp seconds."""
    token = issue(SECRET, CLAIMS)
    assert "=" not in token
    assert _part(token, 0) == {"alg": "HS256", "typ": "JWT"}
    assert _part(token, 1) == {
        "agency": "JC-MG",
        "role": "case_worker",
        "user": "anna",
        "purpose": "counselling",
        "iat": int(NOW.timestamp()),
        "exp": int((NOW + timedelta(hours=8)).timestamp()),
    }


def test_expired_token_is_refused() -> None:
    """At and after its expiry instant the token is refused as expired."""
    token = issue(SECRET, CLAIMS)
    for later in (CLAIMS.expires_at, CLAIMS.expires_at + timedelta(days=1)):
        with pytest.raises(ExpiredTokenError):
            verify(SECRET, token, later)


def test_token_from_the_future_is_refused() -> None:
    """A token issued more than the allowed clock skew ahead is not accepted."""
    token = issue(SECRET, CLAIMS)
    with pytest.raises(MalformedTokenError, match="future"):
        verify(SECRET, token, NOW - timedelta(minutes=5))
    assert verify(SECRET, token, NOW - timedelta(seconds=30)) == CLAIMS


def test_other_secret_is_a_bad_signature() -> None:
    """A token signed with another secret does not verify."""
    token = issue("another-secret-0123456789", CLAIMS)
    with pytest.raises(BadSignatureError):
        verify(SECRET, token, NOW)


def test_tampered_payload_is_a_bad_signature() -> None:
    """Changing a claim (another agency, a later expiry) breaks the signature."""
    header, payload, signature = issue(SECRET, CLAIMS).split(".")
    for change in ({"agency": "JC-RKN"}, {"exp": int(NOW.timestamp()) + 10**6}):
        forged = _encoded({**_part(f"{header}.{payload}", 1), **change})
        with pytest.raises(BadSignatureError):
            verify(SECRET, f"{header}.{forged}.{signature}", NOW)


def test_alg_none_and_other_algorithms_are_refused() -> None:
    """Only HS256: an unsigned ("none") token or another algorithm is malformed."""
    _, payload, signature = issue(SECRET, CLAIMS).split(".")
    for alg in ("none", "HS512", "RS256"):
        header = _encoded({"alg": alg, "typ": "JWT"})
        with pytest.raises(MalformedTokenError, match="HS256"):
            verify(SECRET, f"{header}.{payload}.{signature}", NOW)


@pytest.mark.parametrize("token", ["", "abc", "a.b", "a.b.c.d", "!!.??.**", "e30.e30.", "x" * 5000])
def test_malformed_tokens_are_refused(token: str) -> None:
    """Anything not three base64url parts of JSON is malformed, never a crash."""
    with pytest.raises(auth.TokenError):
        verify(SECRET, token, NOW)


def test_signed_payload_missing_claims_is_malformed() -> None:
    """A genuinely signed payload without a claim, or with a wrong type, is malformed."""
    header = _encoded(auth.HEADER)
    payloads = ({"agency": "JC-MG"}, {**CLAIMS.payload(), "exp": "tomorrow"}, ["not", "an object"])
    for payload in payloads:
        body = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
        signing_input = f"{header}.{body}"
        signature = base64.urlsafe_b64encode(auth._sign(SECRET, signing_input)).rstrip(b"=")
        with pytest.raises(MalformedTokenError):
            verify(SECRET, f"{signing_input}.{signature.decode()}", NOW)


def test_issue_refuses_empty_claims_and_secret() -> None:
    """No token with an empty claim, an expiry before issue, or an empty secret."""
    with pytest.raises(ValueError, match="user"):
        issue(SECRET, replace(CLAIMS, user=""))
    with pytest.raises(ValueError, match="expire"):
        issue(SECRET, replace(CLAIMS, expires_at=NOW))
    with pytest.raises(ValueError, match="secret"):
        issue("", CLAIMS)


TOKEN = require_token(lambda _: SECRET, clock=lambda: NOW)


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/who")
    def who(claims: Annotated[Claims, Depends(TOKEN)]) -> dict[str, str]:
        return {"user": claims.user, "agency": claims.agency}

    return app


def test_bearer_dependency_answers_401_with_www_authenticate() -> None:
    """No token, a non-bearer scheme, a bad or expired token: 401 with WWW-Authenticate."""
    client = TestClient(_app())
    expired = issue(SECRET, replace(CLAIMS, expires_at=NOW, issued_at=NOW - timedelta(hours=1)))
    for headers in (
        {},
        {"Authorization": f"Basic {issue(SECRET, CLAIMS)}"},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": f"Bearer {expired}"},
        {"Authorization": f"Bearer {issue('another-secret-0123456789', CLAIMS)}"},
    ):
        response = client.get("/who", headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    ok = client.get("/who", headers={"Authorization": f"Bearer {issue(SECRET, CLAIMS)}"})
    assert ok.status_code == 200
    assert ok.json() == {"user": "anna", "agency": "JC-MG"}


def test_cli_issues_a_token_with_the_env_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``issue`` prints a token signed with IP_TOKEN_SECRET; ``verify`` reads it back."""
    monkeypatch.setenv("IP_TOKEN_SECRET", SECRET)
    argv = ["issue", "--agency", "JC-MG", "--role", "case_worker", "--user", "anna"]
    assert auth.main([*argv, "--purpose", "counselling", "--hours", "2"]) == 0
    token = capsys.readouterr().out.strip()
    claims = verify(SECRET, token, datetime.now(UTC))
    assert (claims.agency, claims.role, claims.user, claims.purpose) == (
        "JC-MG",
        "case_worker",
        "anna",
        "counselling",
    )
    assert claims.expires_at - claims.issued_at == timedelta(hours=2)
    assert auth.main(["verify", token]) == 0
    assert '"user": "anna"' in capsys.readouterr().out


def test_cli_without_secret_fails_clearly(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No IP_TOKEN_SECRET: exit 2 and say so; --help describes the issuer."""
    monkeypatch.delenv("IP_TOKEN_SECRET", raising=False)
    argv = ["issue", "--agency", "JC-MG", "--role", "r", "--user", "u", "--purpose", "p"]
    assert auth.main(argv) == 2
    assert "IP_TOKEN_SECRET" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        auth.main(["--help"])
    assert "IP_TOKEN_SECRET" in capsys.readouterr().out


def _claims(agency: str, role: str, purpose: str = "counselling") -> Claims:
    return replace(CLAIMS, agency=agency, role=role, purpose=purpose)


def test_view_accepts_only_its_agency_in_the_reading_role() -> None:
    """A Jobcenter view reads with its own agency's case_worker token, nobody else's."""
    assert refusal(ViewId.JC_MG, _claims("JC-MG", "case_worker"), Read.TIMELINE) is None
    assert "serves JC-MG" in str(
        refusal(ViewId.JC_MG, _claims("JC-RKN", "case_worker"), Read.CASES)
    )
    assert refusal(ViewId.JC_MG, _claims("JC-MG", "data_protection"), Read.TIMELINE) is not None
    assert refusal(ViewId.JC_MG, _claims("JC-MG", "data_protection"), Read.DISCLOSURES) is None


def test_stadt_role_tells_its_two_offices_apart() -> None:
    """One controller, two views: the role decides the Ausländerbehörde or the Sozialamt."""
    abh, sozialamt = (
        _claims("STADT-MG", "abh_case_worker"),
        _claims("STADT-MG", "sozialamt_case_worker"),
    )
    assert refusal(ViewId.ABH_MG, abh, Read.TIMELINE) is None
    assert refusal(ViewId.SOZIALAMT_MG, abh, Read.TIMELINE) is not None
    assert refusal(ViewId.SOZIALAMT_MG, sozialamt, Read.TIMELINE) is None
    assert refusal(ViewId.ABH_MG, sozialamt, Read.TIMELINE) is not None
    assert refusal(ViewId.ABH_RKN, abh, Read.TIMELINE) is not None  # the Kreis's office


def test_access_log_is_for_data_protection_only() -> None:
    """Only the view's data protection officer reads the access log."""
    assert refusal(ViewId.JC_MG, _claims("JC-MG", "data_protection"), Read.ACCESS_LOG) is None
    assert refusal(ViewId.JC_MG, _claims("JC-MG", "case_worker"), Read.ACCESS_LOG) is not None
    assert refusal(ViewId.JC_RKN, _claims("JC-MG", "data_protection"), Read.ACCESS_LOG) is not None


def test_partner_reads_only_for_its_purposes() -> None:
    """IQ reads for recognition or counselling, not for placement; steering has no reader."""
    assert (
        refusal(
            ViewId.PARTNER_IQ,
            _claims("iq_counselling", "case_worker", "recognition"),
            Read.TIMELINE,
        )
        is None
    )
    assert "purpose" in str(
        refusal(
            ViewId.PARTNER_IQ, _claims("iq_counselling", "case_worker", "placement"), Read.TIMELINE
        )
    )
    assert refusal(ViewId.PARTNER_IQ, _claims("JC-MG", "case_worker"), Read.TIMELINE) is not None
    assert refusal(ViewId.STEERING, _claims("JC-MG", "case_worker"), Read.CASES) is not None


def test_every_view_has_an_explicit_token_agency() -> None:
    """The mapping names every view; agencies are the controllers, partners their names."""
    assert set(TOKEN_AGENCY) == set(ViewId)
    for view, agency in TOKEN_AGENCY.items():
        controller = view.controller
        assert agency == (controller.value if controller is not None else None)
    assert NOT_VISIBLE == "not visible to this agency"


def test_steering_reads_figures_only_in_the_steering_role() -> None:
    """Any agency of the network may send a steering member; figures are steering's alone."""
    for agency in ("JC-MG", "RKN", "AA-MG"):
        assert refusal(ViewId.STEERING, _claims(agency, "steering"), Read.FIGURES) is None
    assert "role" in str(refusal(ViewId.STEERING, _claims("JC-MG", "case_worker"), Read.FIGURES))
    assert "network" in str(
        refusal(ViewId.STEERING, _claims("iq_counselling", "steering"), Read.FIGURES)
    )
    assert refusal(ViewId.STEERING, _claims("JC-MG", "steering"), Read.TIMELINE) is not None
    assert refusal(ViewId.JC_MG, _claims("JC-MG", "steering"), Read.CASES) is not None
    assert refusal(ViewId.JC_MG, _claims("JC-MG", "case_worker"), Read.FIGURES) is not None
