"""Signed-in clients of the command APIs for tests: the access tokens of the test stack's
Keycloak demo users (``tests.identity``), picked by agency and role."""

from __future__ import annotations

import re
from uuid import UUID

import asyncpg
import httpx
import jwt
from fastapi import FastAPI

from deploy.local.demo_users import USERS, role_of
from deploy.local.devstack import StackInfo
from tests.identity import tokens_of


def signed(stack: StackInfo, agency: str = "AA-MG", role: str | None = None) -> dict[str, str]:
    """``Authorization`` of the demo user of ``agency`` in ``role`` (its case worker)."""
    return tokens_of(stack).bearer(USERS[agency, role or role_of(agency)], purpose=None)


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
    stack: StackInfo,
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
    reaction and the 404 of an unknown case have their own tests)."""

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
        signer = jwt.decode(token, options={"verify_signature": False})["agency"]
        await know_case(known_cases_dsn, case_id, responsible=signer, site=known_site)

    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app),
        base_url=base_url,
        headers=signed(stack, agency, role),
        event_hooks={"request": [know]},
    )
