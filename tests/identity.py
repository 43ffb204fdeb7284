"""Real access tokens for tests: the test stack's Keycloak issues them by the password grant
of its ``ip-cli`` client for the realm's demo users (``deploy/local/keycloak/``)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from deploy.local.devstack import StackInfo
from deploy.local.identity_provider import ADMIN_USER, CLI_CLIENT, DEMO_PASSWORD, Provider

MARGIN_S = 60.0  # a cached token is used while it has at least this long to live


def provider_of(stack: StackInfo) -> Provider:
    """The stack's OpenID Connect provider (the test stack always has one)."""
    if stack.identity is None:
        raise AssertionError("the test stack runs without Keycloak")
    return stack.identity


def password_grant(
    provider: Provider, username: str, purpose: str | None = None
) -> dict[str, object]:
    """The provider's token response for a demo user, with the purpose scope if named."""
    data = {
        "grant_type": "password",
        "client_id": CLI_CLIENT,
        "username": username,
        "password": DEMO_PASSWORD,
    }
    if purpose is not None:
        data["scope"] = f"purpose-{purpose}"
    response = httpx.post(provider.token_url, data=data, timeout=30)
    response.raise_for_status()
    body: dict[str, object] = response.json()
    return body


class Tokens:
    """Access tokens of demo users, fetched once per user and purpose while they are fresh."""

    def __init__(self, provider: Provider) -> None:
        self.provider = provider
        self._cache: dict[tuple[str, str | None], tuple[str, float]] = {}

    def __call__(self, username: str, purpose: str | None = "counselling") -> str:
        key = (username, purpose)
        token, until = self._cache.get(key, ("", 0.0))
        if time.monotonic() + MARGIN_S < until:
            return token
        body = password_grant(self.provider, username, purpose)
        token = str(body["access_token"])
        self._cache[key] = (token, time.monotonic() + float(str(body["expires_in"])))
        return token

    def forget(self) -> None:
        """Drop every cached token (after the provider withdrew the key they were signed with)."""
        self._cache.clear()

    def bearer(self, username: str, purpose: str | None = "counselling") -> dict[str, str]:
        """The Authorization header of the user's access token."""
        return {"Authorization": f"Bearer {self(username, purpose)}"}


_TOKENS: dict[str, Tokens] = {}


def tokens_of_provider(provider: Provider) -> Tokens:
    """The session's token cache of a provider (what the ``token_for`` fixture is)."""
    return _TOKENS.setdefault(provider.issuer, Tokens(provider))


def tokens_of(stack: StackInfo) -> Tokens:
    """The session's token cache of the stack's provider."""
    return tokens_of_provider(provider_of(stack))


def bearer(stack: StackInfo, username: str, purpose: str | None = "counselling") -> dict[str, str]:
    """The Authorization header of a demo user's access token from the stack's provider."""
    return tokens_of(stack).bearer(username, purpose)


def verifying(stack: StackInfo) -> dict[str, Any]:
    """The ``oidc_*`` settings of an app that verifies the stack's provider's tokens."""
    return provider_of(stack).verifier_settings()


def view_reader(stack: StackInfo) -> dict[str, Any]:
    """The ``oidc_*`` settings of a view's client (``ip-view-reader``) that fetches keys."""
    return provider_of(stack).client_settings("ip-view-reader")


def forged_token(genuine: str, **changes: Any) -> str:
    """``genuine``'s claims (with ``changes``) under its key id, signed with a key of our own:
    what a forger who knows the key id but not the provider's private key can make."""
    header = jwt.get_unverified_header(genuine)
    claims = {**jwt.decode(genuine, options={"verify_signature": False}), **changes}
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": header["kid"]})


def view_reader_env(stack: StackInfo) -> dict[str, str]:
    """The ``IP_OIDC_*`` client settings of a view process (``ip-view-reader``)."""
    return provider_of(stack).client_env("ip-view-reader")


def client_bearer(stack: StackInfo, client_id: str) -> dict[str, str]:
    """The Authorization header of a service client's own token (client credentials)."""
    provider = provider_of(stack)
    response = httpx.post(
        provider.token_url,
        data={"grant_type": "client_credentials"},
        auth=(client_id, provider.client_secrets[client_id]),
        timeout=30,
    )
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def admin_token(provider: Provider) -> str:
    """A genuine token of the provider's master realm for its administrator (the admin REST
    API; to a view of the platform's realm it is a token of another issuer)."""
    async with httpx.AsyncClient(timeout=30) as http:
        answer = await http.post(
            f"{provider.base_url}/realms/master/protocol/openid-connect/token",
            data={
                "grant_type": "password",
                "client_id": "admin-cli",
                "username": ADMIN_USER,
                "password": provider.admin_password,
            },
        )
    answer.raise_for_status()
    return str(answer.json()["access_token"])
