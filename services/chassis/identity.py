"""Who acts: the signed-in person (or process) behind a request, from an OpenID Connect
provider's access token, verified against the provider's published keys (JWKS).

Every command and every read carries ``Authorization: Bearer <access token>``. The token is
verified with PyJWT: signature (asymmetric algorithms only, never ``none`` or HMAC), issuer,
audience, expiry and not-before (with a small leeway for clock skew), and the presence of the
claims that say who acts. The acting agency, role and user come from the token, never from a
header.

Keys rotate at the provider: a token signed with a key id this process has not seen makes it
fetch the JWKS again (at most once per ``refetch_after``), so a rotation is followed without a
restart, and a forged key id cannot make it hammer the provider. The JWKS is fetched again
when it is older than ``max_age`` too, so a key the provider no longer publishes stops being
accepted (if that fetch fails, the keys at hand stay in use).

Claim names are settings (``ClaimNames``): Keycloak's realm in ``deploy/local/keycloak/``
maps the users' attributes ``agency`` and ``role`` into claims of those names; an agency's own
provider may name them otherwise.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import jwt
import structlog

log = structlog.get_logger("identity")

ALGORITHMS: Final = ("RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA")
LEEWAY_SECONDS: Final = 30  # a provider's clock may run this far ahead or behind
MAX_TOKEN_CHARS: Final = 8192


class TokenError(Exception):
    """A token that does not prove who acts; the reason is safe to tell the client."""


@dataclass(frozen=True)
class Principal:
    """Who acts: the agency (an ``Agency`` value or a partner's name), the role, the
    provider's subject (pseudonymous, stable: what events record), the user name (for
    display and the access log only), the purpose (reads of consented data), and the expiry."""

    agency: str
    role: str
    subject: str
    user: str
    purpose: str | None
    expires_at: datetime


@dataclass(frozen=True)
class ClaimNames:
    """Where a provider puts what the platform needs (settings: ``IP_OIDC_CLAIM_*``)."""

    agency: str = "agency"
    role: str = "role"
    user: str = "preferred_username"
    purpose: str = "purpose"


JwksFetch = Callable[[], Awaitable[Mapping[str, Any]]]


@dataclass
class JwksVerifier:
    """Verifies access tokens of one issuer for one audience against the issuer's JWKS."""

    issuer: str
    audience: str
    fetch_jwks: JwksFetch
    claims: ClaimNames = field(default_factory=ClaimNames)
    refetch_after: float = 10.0  # seconds between JWKS fetches for an unknown key id
    # Seconds a fetched JWKS is trusted: a key the issuer withdrew (after a rotation, or one
    # that leaked) is refused at most this long after, without a restart.
    max_age: float = 300.0
    _keys: dict[str, jwt.PyJWK] = field(default_factory=dict, init=False, repr=False)
    _fetched_at: float = field(default=float("-inf"), init=False, repr=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False, repr=False)

    async def _refresh(self) -> None:
        async with self._lock:
            if time.monotonic() - self._fetched_at < self.refetch_after:
                return
            self._fetched_at = time.monotonic()
            jwks = await self.fetch_jwks()
            keys: dict[str, jwt.PyJWK] = {}
            for entry in jwks.get("keys", []):
                if entry.get("use", "sig") != "sig" or "kid" not in entry:
                    continue
                try:
                    keys[entry["kid"]] = jwt.PyJWK.from_dict(dict(entry))
                except jwt.PyJWTError:
                    continue  # an algorithm this process cannot use (e.g. an encryption key)
            self._keys = keys
            log.info("identity.jwks_fetched", keys=sorted(keys))

    async def _key(self, kid: str) -> jwt.PyJWK:
        if kid not in self._keys:
            await self._refresh()
        elif time.monotonic() - self._fetched_at > self.max_age:
            try:
                await self._refresh()
            except Exception:  # noqa: BLE001  # any failure of the fetch: keep the keys we have
                log.warning("identity.jwks_refresh_failed", kept=sorted(self._keys))
        try:
            return self._keys[kid]
        except KeyError:
            raise TokenError(f"the token's signing key {kid!r} is not the issuer's") from None

    async def verify(self, token: str) -> Principal:
        """The principal of a genuine, current token; ``TokenError`` saying why not."""
        return self.principal_of(await self.verified_claims(token))

    async def verified_claims(self, token: str) -> Mapping[str, Any]:
        """Every claim of a genuine, current token of the issuer for the audience (also of a
        process's client-credentials token, which names no agency); ``TokenError`` if not."""
        if len(token) > MAX_TOKEN_CHARS:
            raise TokenError("the token is too long")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise TokenError("the token is not a JWT") from error
        if header.get("alg") not in ALGORITHMS:
            raise TokenError(f"the algorithm {header.get('alg')!r} is not accepted")
        key = await self._key(str(header.get("kid", "")))
        try:
            payload = jwt.decode(
                token,
                key=key,
                algorithms=list(ALGORITHMS),
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "iss", "sub"]},
            )
        except jwt.ExpiredSignatureError as error:
            raise TokenError("the token has expired") from error
        except jwt.PyJWTError as error:
            raise TokenError(f"the token is not valid: {error}") from error
        return payload

    def principal_of(self, payload: Mapping[str, Any]) -> Principal:
        """Who acts, from verified claims; ``TokenError`` if they do not name agency and role."""

        def text(name: str, *, required: bool = True) -> str | None:
            value = payload.get(name)
            if value is None and not required:
                return None
            if not isinstance(value, str) or not value.strip() or len(value) > 200:
                raise TokenError(f"the claim {name} is missing or not a short text")
            return value

        names = self.claims
        return Principal(
            agency=str(text(names.agency)),
            role=str(text(names.role)),
            subject=str(text("sub")),
            user=str(text(names.user)),
            purpose=text(names.purpose, required=False),
            expires_at=datetime.fromtimestamp(int(payload["exp"]), UTC),
        )
