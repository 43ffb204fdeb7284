"""A signing-key rotation at the provider (the test stack's Keycloak, through its admin REST
API), followed by a running view without a restart: a token of the new key is accepted as
soon as it arrives (its key id makes the view fetch the JWKS again); once the old key is
withdrawn, its tokens are refused after the view's JWKS cache has aged out."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from uuid import uuid4

import httpx
import jwt
import pytest

from deploy.local.devstack import StackInfo
from deploy.local.identity_provider import REALM, Provider
from deploy.local.principals import view_principal
from services.projections.agency_app import create_app
from services.projections.agency_settings import AgencyViewSettings
from services.projections.purpose import ViewId
from tests.conftest import free_port
from tests.e2e.harness import serving
from tests.e2e.platform import fresh_database
from tests.identity import Tokens, admin_token, password_grant, verifying

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

KEY_PROVIDER = "org.keycloak.keys.KeyProvider"
MAX_AGE_S = 2.0  # the view's JWKS cache (300 s by default): short, so the test need not wait


def kid(token: str) -> str:
    return str(jwt.get_unverified_header(token)["kid"])


def fresh_token(identity: Provider) -> str:
    """A new access token of the Agentur's case worker (not from the session's cache)."""
    return str(password_grant(identity, "anna.aa", "counselling")["access_token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def view(stack: StackInfo) -> AsyncIterator[httpx.AsyncClient]:
    """The Agentur's view, verifying the provider's tokens, its JWKS trusted for 2 s."""
    settings = AgencyViewSettings(
        agency_view=ViewId.AA_MG,
        agency_database_url=await fresh_database(stack.admin_dsn),
        agency_consumer_group=f"projection.aa_mg.test-rotation.{uuid4().hex[:8]}",
        **stack.kafka_settings(view_principal(ViewId.AA_MG)),
        **verifying(stack),
        oidc_jwks_refetch_s=0.0,
        oidc_jwks_max_age_s=MAX_AGE_S,
    )
    async with (
        serving(create_app(settings), free_port()) as url,
        httpx.AsyncClient(base_url=url, timeout=30) as client,
    ):
        yield client


@pytest.fixture
async def admin(identity: Provider, token_for: Tokens) -> AsyncIterator[httpx.AsyncClient]:
    """The provider's admin REST API, as the master realm's administrator. Afterwards the
    session's cached tokens are dropped: they were signed with a key that is gone."""
    headers = bearer(await admin_token(identity))
    async with httpx.AsyncClient(
        base_url=f"{identity.base_url}/admin/realms/{REALM}", headers=headers, timeout=30
    ) as client:
        yield client
    token_for.forget()


async def test_a_key_rotation_is_followed_without_a_restart(
    view: httpx.AsyncClient, admin: httpx.AsyncClient, identity: Provider
) -> None:
    """Old key's token 200; a new RSA key of higher priority at the provider: its token 200 at
    once; the old key deleted: its token 401 once the view's JWKS is older than max_age,
    while the new key's token still opens."""
    old = fresh_token(identity)
    assert (await view.get("/cases", headers=bearer(old))).status_code == 200

    realm_id = (await admin.get("")).json()["id"]
    providers = (await admin.get("/components", params={"type": KEY_PROVIDER})).json()
    signing = [p for p in providers if p["providerId"] == "rsa-generated"]
    priority = max(int(p["config"].get("priority", ["0"])[0]) for p in providers) + 10
    created = await admin.post(
        "/components",
        json={
            "name": f"rotated-{uuid4().hex[:8]}",
            "providerId": "rsa-generated",
            "providerType": KEY_PROVIDER,
            "parentId": realm_id,
            "config": {"priority": [str(priority)], "keySize": ["2048"], "algorithm": ["RS256"]},
        },
    )
    assert created.status_code == 201, created.text

    new = fresh_token(identity)
    assert kid(new) != kid(old)
    assert (await view.get("/cases", headers=bearer(new))).status_code == 200

    for provider in signing:  # the provider stops publishing the old key
        assert (await admin.delete(f"/components/{provider['id']}")).status_code == 204
    async with httpx.AsyncClient(timeout=30) as http:
        published = {key["kid"] for key in (await http.get(identity.jwks_url)).json()["keys"]}
    assert kid(old) not in published
    assert kid(new) in published

    await asyncio.sleep(MAX_AGE_S + 0.5)
    refused = await view.get("/cases", headers=bearer(old))
    assert refused.status_code == 401
    assert "is not the issuer's" in refused.json()["detail"]
    assert (await view.get("/cases", headers=bearer(new))).status_code == 200
