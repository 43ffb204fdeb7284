"""The platform's side of its OpenID Connect provider: settings naming the provider, the JWKS
fetched over HTTP, the FastAPI dependency that turns a request's bearer token into the
verified :class:`~services.chassis.identity.Principal`, and the client-credentials tokens of
processes that call internal endpoints.

Locally the provider is the dev stack's Keycloak (``deploy/local/identity_provider.py``); in
production it is the agencies' own: an operator names its issuer, the audience its access
tokens carry for the platform, optionally the JWKS URL (else the issuer's discovery document
says it), and where its tokens put agency, role, user and purpose (``IP_OIDC_CLAIM_*``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any, Final

import httpx
import structlog
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.chassis.identity import ClaimNames, JwksVerifier, Principal, TokenError

log = structlog.get_logger("identity")

DISCOVERY: Final = "/.well-known/openid-configuration"
REFRESH_MARGIN_S: Final = 30.0  # a client token is renewed this long before it expires


class OidcSettings(BaseSettings):
    """Which provider's access tokens a process accepts (``IP_OIDC_*``)."""

    model_config = SettingsConfigDict(
        env_prefix="IP_", extra="ignore", frozen=True, populate_by_name=True
    )

    oidc_issuer: str = Field(
        default="",
        description="the provider's issuer URL, exactly as in its tokens' iss (an API that"
        " verifies tokens refuses to start without it)",
    )
    oidc_audience: str = Field(
        default="ip-platform", description="the audience the platform's access tokens carry"
    )
    oidc_jwks_url: str | None = Field(
        default=None, description="the provider's JWKS; None: from its discovery document"
    )
    oidc_claim_agency: str = "agency"
    oidc_claim_role: str = "role"
    oidc_claim_user: str = "preferred_username"
    oidc_claim_purpose: str = "purpose"
    oidc_jwks_refetch_s: float = Field(
        default=10.0, ge=0.0, description="at most one JWKS fetch per this many seconds"
    )
    oidc_jwks_max_age_s: float = Field(
        default=300.0, gt=0.0, description="a JWKS older than this is fetched again"
    )

    @property
    def claim_names(self) -> ClaimNames:
        return ClaimNames(
            agency=self.oidc_claim_agency,
            role=self.oidc_claim_role,
            user=self.oidc_claim_user,
            purpose=self.oidc_claim_purpose,
        )


class OidcClientSettings(BaseSettings):
    """How a process obtains its own access token by client credentials (``IP_OIDC_*``)."""

    model_config = SettingsConfigDict(
        env_prefix="IP_", extra="ignore", frozen=True, populate_by_name=True
    )

    oidc_token_url: str = Field(default="", description="the provider's token endpoint")
    oidc_client_id: str = Field(default="", description="this process's client at the provider")
    oidc_client_secret: SecretStr = Field(default=SecretStr(""), description="its secret")


async def discovered(http: httpx.AsyncClient, issuer: str) -> dict[str, Any]:
    """The provider's discovery document (OpenID Connect Discovery 1.0)."""
    response = await http.get(issuer.rstrip("/") + DISCOVERY)
    response.raise_for_status()
    document: dict[str, Any] = response.json()
    return document


def jwks_fetcher(
    http: httpx.AsyncClient, issuer: str, jwks_url: str | None
) -> Callable[[], Awaitable[Mapping[str, Any]]]:
    """Fetches the issuer's JWKS, from ``jwks_url`` or the one its discovery document names."""
    found: list[str] = [jwks_url] if jwks_url else []

    async def fetch() -> Mapping[str, Any]:
        if not found:
            found.append(str((await discovered(http, issuer))["jwks_uri"]))
        response = await http.get(found[0])
        response.raise_for_status()
        keys: Mapping[str, Any] = response.json()
        return keys

    return fetch


def verifier(settings: OidcSettings, http: httpx.AsyncClient) -> JwksVerifier:
    """The verifier of the settings' provider, fetching its keys with ``http``."""
    if not settings.oidc_issuer.strip():
        raise ValueError(
            "IP_OIDC_ISSUER is not set: a process refuses to serve requests it cannot"
            " authenticate (the provider's issuer URL, e.g. the dev stack's Keycloak realm)"
        )
    return JwksVerifier(
        issuer=settings.oidc_issuer,
        audience=settings.oidc_audience,
        fetch_jwks=jwks_fetcher(http, settings.oidc_issuer, settings.oidc_jwks_url),
        claims=settings.claim_names,
        refetch_after=settings.oidc_jwks_refetch_s,
        max_age=settings.oidc_jwks_max_age_s,
    )


# --- FastAPI ---------------------------------------------------------------------------------

bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="bearerAuth",
    description="An access token of the platform's OpenID Connect provider: a person's (its "
    "agency and role claims say on whose behalf and in which role they act; locally "
    "`python -m services.chassis.token --user anna.aa`) or a process's client credentials.",
)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer`` header (e.g. a partner's own key token, not
    one of the provider); 401 with ``WWW-Authenticate: Bearer`` without one."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise unauthorized("a bearer token is required", invalid=False)
    return token


def unauthorized(reason: str, *, invalid: bool) -> HTTPException:
    """401 with ``WWW-Authenticate: Bearer`` (RFC 6750), naming the reason."""
    challenge = (
        f'Bearer error="invalid_token", error_description="{reason}"' if invalid else "Bearer"
    )
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, reason, headers={"WWW-Authenticate": challenge}
    )


async def verified(
    verifying: JwksVerifier, request: Request, credentials: HTTPAuthorizationCredentials | None
) -> Mapping[str, Any]:
    """The claims of the request's bearer token, or 401 (logged) saying why not."""
    if credentials is None:
        raise unauthorized(
            "a bearer token is required (Authorization: Bearer <token>)", invalid=False
        )
    try:
        return await verifying.verified_claims(credentials.credentials)
    except TokenError as error:
        log.warning("identity.refused", path=request.url.path, reason=str(error))
        raise unauthorized(str(error), invalid=True) from error
    except httpx.HTTPError as error:  # the provider is unreachable: no token can be checked
        log.exception("identity.provider_unreachable", path=request.url.path, error=str(error))
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "the identity provider cannot be reached"
        ) from error


def require_principal(
    verifier_of: Callable[[Request], JwksVerifier],
) -> Callable[..., Awaitable[Principal]]:
    """A dependency giving the request's verified principal; 401 without a genuine, current
    token of the provider. ``verifier_of`` finds the app's verifier (e.g. on its state)."""

    async def principal(request: Request, credentials: Credentials) -> Principal:
        verifying = verifier_of(request)
        claims = await verified(verifying, request, credentials)
        try:
            # The claims are verified; a missing agency or role is a token that proves no one.
            return verifying.principal_of(claims)
        except TokenError as error:
            log.warning("identity.refused", path=request.url.path, reason=str(error))
            raise unauthorized(str(error), invalid=True) from error

    return principal


def require_client(
    verifier_of: Callable[[Request], JwksVerifier], allowed_of: Callable[[Request], frozenset[str]]
) -> Callable[..., Awaitable[str]]:
    """A dependency giving the client id (``azp``) of a process's client-credentials token;
    401 without a genuine token, 403 when the client is not one ``allowed_of`` names."""

    async def client(request: Request, credentials: Credentials) -> str:
        claims = await verified(verifier_of(request), request, credentials)
        client_id = str(claims.get("azp") or claims.get("client_id") or "")
        if client_id not in allowed_of(request):
            log.warning("identity.client_refused", path=request.url.path, client=client_id)
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, f"the client {client_id!r} may not call this endpoint"
            )
        return client_id

    return client


# --- client credentials ----------------------------------------------------------------------


class ClientCredentials(httpx.Auth):
    """An ``httpx`` auth that sends this process's own access token, obtained from the
    provider by client credentials (RFC 6749 § 4.4) and renewed before it expires."""

    def __init__(self, http: httpx.AsyncClient, settings: OidcClientSettings) -> None:
        self._http = http
        self._settings = settings
        self._token = ""
        self._renew_at = float("-inf")
        self._lock = asyncio.Lock()

    async def token(self) -> str:
        """A current access token (fetched, or renewed when it is about to expire)."""
        async with self._lock:
            if time.monotonic() >= self._renew_at:
                settings = self._settings
                if not (settings.oidc_token_url and settings.oidc_client_id):
                    raise httpx.HTTPError(
                        "no client of this process at the provider:"
                        " IP_OIDC_TOKEN_URL and IP_OIDC_CLIENT_ID are not set"
                    )
                response = await self._http.post(
                    settings.oidc_token_url,
                    data={"grant_type": "client_credentials"},
                    auth=(settings.oidc_client_id, settings.oidc_client_secret.get_secret_value()),
                )
                response.raise_for_status()
                body = response.json()
                lifetime = float(body.get("expires_in", 60))
                self._token = str(body["access_token"])
                self._renew_at = time.monotonic() + max(lifetime - REFRESH_MARGIN_S, lifetime / 2)
            return self._token

    def expire(self) -> None:
        """Forget the token: the next request fetches a new one (after a 401)."""
        self._renew_at = float("-inf")

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> Any:  # an async generator of requests, as httpx.Auth's protocol has it
        request.headers["Authorization"] = f"Bearer {await self.token()}"
        response = yield request
        if response.status_code == httpx.codes.UNAUTHORIZED:
            self.expire()  # revoked or rotated at the provider: one retry with a new token
            request.headers["Authorization"] = f"Bearer {await self.token()}"
            yield request
