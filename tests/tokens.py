"""Access tokens signed with a locally generated RSA key, for the command APIs' own HTTP tests
until the provider's fixtures (Keycloak, ``token_for``) are in: the real ``JwksVerifier``
verifies them against this key's JWKS, so only the provider is stood in for."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI

from services.chassis.actors import CommandIdentity
from services.chassis.identity import JwksVerifier

ISSUER = "http://127.0.0.1:1/realms/test"
AUDIENCE = "integration-points"
REFERENCE_KEY = b"test-actor-reference-key"


@dataclass
class LocalIssuer:
    """An RSA key that signs tokens, and the identity a command API verifies them with."""

    key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    kid: str = field(default_factory=lambda: uuid4().hex[:12])

    def jwks(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [public | {"kid": self.kid, "use": "sig", "alg": "RS256"}]}

    def identity(self) -> CommandIdentity:
        async def fetch() -> Mapping[str, Any]:
            return self.jwks()

        return CommandIdentity(JwksVerifier(ISSUER, AUDIENCE, fetch), REFERENCE_KEY)

    def token(
        self,
        agency: str = "AA-MG",
        role: str = "case_worker",
        *,
        subject: str | None = None,
        lifetime: int = 600,
        issuer: str = ISSUER,
    ) -> str:
        now = int(time.time())
        claims = {
            "iss": issuer,
            "aud": AUDIENCE,
            "sub": subject or f"sub-{agency}-{role}",
            "iat": now,
            "exp": now + lifetime,
            "agency": agency,
            "role": role,
            "preferred_username": f"{role}@{agency}",
        }
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": self.kid})

    def headers(self, agency: str = "AA-MG", role: str = "case_worker") -> dict[str, str]:
        """``Authorization`` for a person of ``agency`` in ``role``."""
        return {"Authorization": f"Bearer {self.token(agency, role)}"}


ISSUER_FOR_TESTS = LocalIssuer()  # one key per test run: generating one takes ~50 ms


def role_of(agency: str) -> str:
    """The case-working role of an agency's staff: the ABH's at the municipalities."""
    return "abh_case_worker" if agency in {"STADT-MG", "RKN"} else "case_worker"


async def know_case(
    dsn: str, case_id: object, responsible: str = "AA-MG", site: str = "MG"
) -> None:
    """Tell a service's known-cases table about a case, as its reaction to intake would."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "INSERT INTO known_cases (case_id, responsible, site, intake_version)"
            " VALUES ($1, $2, $3, 1) ON CONFLICT (case_id) DO UPDATE SET responsible = $2,"
            " site = $3",
            case_id,
            responsible,
            site,
        )
    finally:
        await conn.close()


_CASE_PATH = re.compile(r"^/cases/([0-9a-fA-F-]{36})/")


def command_client(
    app: FastAPI,
    base_url: str,
    *,
    agency: str = "AA-MG",
    role: str | None = None,
    known_cases_dsn: str | None = None,
    known_site: str = "MG",
) -> httpx.AsyncClient:
    """A client of a command API signed in as ``agency`` (its case worker unless ``role``).

    With ``known_cases_dsn`` every case a command names is first made known to the service
    with the signing agency responsible, in ``known_site``: the stand-in for intake's
    registration in the API tests of language, recognition and placement (the known-cases
    reaction has its own tests)."""

    async def know(request: httpx.Request) -> None:
        found = _CASE_PATH.match(request.url.path)
        if known_cases_dsn is None or request.method != "POST" or not found:
            return
        try:
            case_id = UUID(found[1])
        except ValueError:
            return  # the API answers 422 for it
        # Whoever signs the command is responsible, as every agency was before tokens.
        token = request.headers["Authorization"].removeprefix("Bearer ")
        signed = jwt.decode(token, options={"verify_signature": False})["agency"]
        await know_case(known_cases_dsn, case_id, responsible=signed, site=known_site)

    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app),
        base_url=base_url,
        headers=ISSUER_FOR_TESTS.headers(agency, role or role_of(agency)),
        event_hooks={"request": [know]},
    )
