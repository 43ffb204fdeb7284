"""The access-token verifier against a provider's JWKS (a key pair of the test's own), and
through HTTP (``require_principal`` on a FastAPI route): every way a token can fail to prove
who acts is refused with a reason, 401 over HTTP; a genuine, current token opens."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import Depends, FastAPI, Request
from fastapi.testclient import TestClient

from services.chassis.identity import JwksVerifier, Principal, TokenError
from services.chassis.oidc import require_principal

ISSUER = "https://login.example.org/realms/ip"
AUDIENCE = "ip-platform"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    public: dict[str, Any] = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return {**public, "kid": kid, "use": "sig", "alg": "RS256"}


class Provider:
    """The JWKS a provider publishes, and how often it was fetched."""

    def __init__(self) -> None:
        self.keys = [jwk(KEY, "k1")]
        self.fetches = 0

    async def __call__(self) -> Mapping[str, Any]:
        self.fetches += 1
        return {"keys": list(self.keys)}


def claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {"iss": ISSUER, "aud": AUDIENCE, "sub": "0f3c", "iat": now, "exp": now + 300}
    base |= {"agency": "JC-MG", "role": "case_worker", "preferred_username": "jonas.jcmg"}
    return {**base, **changes}


def signed(key: rsa.RSAPrivateKey = KEY, kid: str = "k1", **changes: Any) -> str:
    return jwt.encode(claims(**changes), key, algorithm="RS256", headers={"kid": kid})


def unsigned() -> str:
    """``alg: none``: a header and claims, no signature."""

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT', 'kid': 'k1'})}.{part(claims())}."


def hs256() -> str:
    """HMAC-signed with a secret a forger chose (e.g. the public key's bytes)."""
    return jwt.encode(claims(), "a-shared-secret-of-32-bytes-long!", algorithm="HS256")


REFUSED: dict[str, tuple[Callable[[], str], str]] = {
    "expired": (lambda: signed(exp=int(time.time()) - 120), "the token has expired"),
    "another issuer": (lambda: signed(iss="https://evil.example.org"), "Invalid issuer"),
    "forged signature": (lambda: signed(OTHER_KEY), "Signature verification failed"),
    "unknown key": (lambda: signed(OTHER_KEY, kid="k9"), "signing key 'k9' is not the issuer's"),
    "alg none": (unsigned, "the algorithm 'none' is not accepted"),
    "HS256": (hs256, "the algorithm 'HS256' is not accepted"),
    "wrong audience": (lambda: signed(aud="another-api"), "Audience doesn't match"),
    "no agency": (lambda: signed(agency=None), "the claim agency is missing"),
    "not a JWT": (lambda: "a.b.c", "the token is not a JWT"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
async def test_a_token_that_proves_no_one_is_refused_with_its_reason(case: str) -> None:
    """Expired, another issuer, a forged signature, an unknown key, alg none, HS256, another
    audience, no agency, not a JWT: each a TokenError naming why."""
    make, reason = REFUSED[case]
    verifier = JwksVerifier(ISSUER, AUDIENCE, Provider())

    with pytest.raises(TokenError, match=reason):
        await verifier.verify(make())


async def test_a_genuine_token_names_who_acts() -> None:
    """Agency, role, the provider's subject, the user name and the purpose come from it."""
    verifier = JwksVerifier(ISSUER, AUDIENCE, Provider())

    principal = await verifier.verify(signed(purpose="placement"))

    assert (principal.agency, principal.role, principal.subject) == ("JC-MG", "case_worker", "0f3c")
    assert (principal.user, principal.purpose) == ("jonas.jcmg", "placement")


async def test_a_new_key_is_fetched_and_a_withdrawn_one_refused_after_max_age() -> None:
    """A token of a key id not yet seen makes the verifier fetch the JWKS again (a rotation,
    no restart); once the JWKS is older than max_age it is fetched again, and a key the
    provider withdrew is refused."""
    provider = Provider()
    verifier = JwksVerifier(ISSUER, AUDIENCE, provider, refetch_after=0.0, max_age=0.2)
    old = signed()
    await verifier.verify(old)

    provider.keys.append(jwk(OTHER_KEY, "k2"))
    await verifier.verify(signed(OTHER_KEY, kid="k2"))
    provider.keys = [jwk(OTHER_KEY, "k2")]  # the old key withdrawn
    await asyncio.sleep(0.3)

    with pytest.raises(TokenError, match="signing key 'k1' is not the issuer's"):
        await verifier.verify(old)
    assert provider.fetches == 3


async def test_unknown_key_ids_do_not_hammer_the_provider() -> None:
    """Forged key ids make at most one JWKS fetch per refetch_after."""
    provider = Provider()
    verifier = JwksVerifier(ISSUER, AUDIENCE, provider, refetch_after=60.0)
    for n in range(5):
        with pytest.raises(TokenError):
            await verifier.verify(signed(OTHER_KEY, kid=f"forged-{n}"))

    assert provider.fetches == 1


@pytest.fixture
def api() -> TestClient:
    """A route behind ``require_principal`` with the test provider's verifier."""
    app = FastAPI()
    app.state.identity = JwksVerifier(ISSUER, AUDIENCE, Provider())

    def of(request: Request) -> JwksVerifier:
        verifying: JwksVerifier = request.app.state.identity
        return verifying

    @app.get("/whoami")
    async def whoami(principal: Principal = Depends(require_principal(of))) -> dict[str, str]:  # noqa: B008  # FastAPI's dependency idiom
        return {"agency": principal.agency, "user": principal.user}

    return TestClient(app)


@pytest.mark.parametrize("case", [None, *sorted(REFUSED)])
def test_every_refusal_is_401_with_a_bearer_challenge(api: TestClient, case: str | None) -> None:
    """No token, or any refused token: 401, WWW-Authenticate: Bearer, the reason in the body."""
    headers = {} if case is None else {"Authorization": f"Bearer {REFUSED[case][0]()}"}

    answer = api.get("/whoami", headers=headers)

    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    if case is not None:
        assert 'error="invalid_token"' in answer.headers["WWW-Authenticate"]
        assert REFUSED[case][1] in answer.json()["detail"]


def test_a_genuine_token_is_200(api: TestClient) -> None:
    """A genuine, current token of the provider opens the route as its user."""
    answer = api.get("/whoami", headers={"Authorization": f"Bearer {signed()}"})

    assert answer.status_code == 200
    assert answer.json() == {"agency": "JC-MG", "user": "jonas.jcmg"}
