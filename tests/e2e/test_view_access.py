"""The agency views' read APIs behind the provider's access tokens (the test stack's
Keycloak, demo users of deploy/local/keycloak/), on the real broker and databases: no token,
or a forged one, is 401; another agency's token, a role that may not read, or a case the view
does not hold is 403 and logged; a granted read is logged with the token's purpose; the
person's access report gathers the reads and the disclosures of every view database."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import jwt
import pytest

from deploy.local.devstack import StackInfo
from services.projections import access_report
from services.projections.agency_app import create_app
from services.projections.agency_settings import AgencyViewSettings
from services.projections.purpose import ViewId
from tests.e2e.agency_views import handed_over_case, serve_views
from tests.e2e.platform import Platform, running_platform, until
from tests.identity import Tokens, admin_token, forged_token

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

VIEWS = (ViewId.JC_MG, ViewId.JC_RKN, ViewId.PARTNER_IQ)


@dataclass
class Views:
    platform: Platform
    dsns: dict[ViewId, str]
    urls: dict[ViewId, str]
    tokens: Tokens
    case_id: str = ""
    consent_id: str = ""

    def bearer(self, user: str, purpose: str = "counselling") -> dict[str, str]:
        """A demo user's Authorization header (JC-MG case workers: jonas, bea, cleo, carla;
        its data protection officer dirk; JC-RKN's ralf; IQ's ina)."""
        return self.tokens.bearer(user, purpose)


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


async def get(views: Views, view: ViewId, path: str, headers: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient(base_url=views.urls[view], timeout=30) as client:
        return await client.get(path, headers=headers)


async def logged(views: Views, view: ViewId) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(views.dsns[view])
    try:
        rows = await conn.fetch("SELECT * FROM public.access_log ORDER BY id")
    finally:
        await conn.close()
    return [dict(row) for row in rows]


async def held_categories(dsn: str, case_id: str) -> set[str | None]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT DISTINCT category FROM case_events WHERE case_id = $1", UUID(case_id)
        )
    finally:
        await conn.close()
    return {row["category"] for row in rows}


@pytest.fixture(scope="module")
async def views(stack: StackInfo, token_for: Tokens) -> AsyncIterator[Views]:
    """The four services, three views verifying the provider's tokens, and a case handed over
    to JC-MG."""
    async with running_platform(stack) as platform, AsyncExitStack() as exits:
        dsns, urls = await serve_views(stack, platform, VIEWS, exits)
        case, consent = await handed_over_case(platform)

        async def jobcenter_holds_it() -> bool:
            return {"identity", "profile"} <= await held_categories(dsns[ViewId.JC_MG], case)

        async def iq_holds_recognition() -> bool:
            return "recognition" in await held_categories(dsns[ViewId.PARTNER_IQ], case)

        await until(jobcenter_holds_it, "the Jobcenter never received the handed-over case")
        await until(iq_holds_recognition, "IQ never received the consented recognition data")
        yield Views(platform, dsns, urls, token_for, case, consent)


def test_a_view_without_a_provider_does_not_start() -> None:
    """A view whose settings name no issuer refuses to start: the error says IP_OIDC_ISSUER."""
    with pytest.raises(ValueError, match="IP_OIDC_ISSUER"):
        create_app(
            AgencyViewSettings(agency_view=ViewId.JC_MG, agency_database_url="postgresql://x/y")
        )


def unsigned(genuine: str) -> str:
    """``genuine``'s header and claims with ``alg: none`` and no signature."""
    header = {**jwt.get_unverified_header(genuine), "alg": "none"}
    claims = jwt.decode(genuine, options={"verify_signature": False})

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part(header)}.{part(claims)}."


def hs256(genuine: str) -> str:
    """``genuine``'s claims HMAC-signed under its key id with a secret a forger chose."""
    claims = jwt.decode(genuine, options={"verify_signature": False})
    kid = jwt.get_unverified_header(genuine)["kid"]
    return jwt.encode(claims, "a-secret-the-forger-chose-32-bytes", headers={"kid": kid})


async def test_no_token_or_a_false_one_is_401(views: Views) -> None:
    """On a real view with the provider's keys: no token; the provider's claims with a
    forged signature, alg none, HS256, another issuer, another audience or an expiry in the
    past (re-signed, so refused as forged); the master realm's genuine token (another
    issuer): every read is 401 with WWW-Authenticate and a reason. The genuine token: 200."""
    genuine = views.tokens("jonas.jcmg")
    false_tokens = {
        "forged signature": forged_token(genuine),
        "alg none": unsigned(genuine),
        "HS256": hs256(genuine),
        "another issuer": forged_token(genuine, iss="https://evil.example.org"),
        "another audience": forged_token(genuine, aud="another-api"),
        "expired": forged_token(genuine, exp=1),
        "master realm": await admin_token(views.tokens.provider),
    }
    for path in ("/cases", f"/cases/{views.case_id}", f"/disclosures?case_id={views.case_id}"):
        response = await get(views, ViewId.JC_MG, path, {})
        assert response.status_code == 401, (path, response.text)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        for case, token in false_tokens.items():
            response = await get(views, ViewId.JC_MG, path, bearer(token))
            assert response.status_code == 401, (case, path, response.text)
            assert 'error="invalid_token"' in response.headers["WWW-Authenticate"], case
            assert response.json()["detail"], case
    assert (await get(views, ViewId.JC_MG, "/cases", bearer(genuine))).status_code == 200


async def test_other_jobcenters_token_is_refused_and_logged(views: Views) -> None:
    """A JC-MG token on the JC-RKN view: 403 with the reason, and a refused row in its log."""
    response = await get(
        views, ViewId.JC_RKN, f"/cases/{views.case_id}", views.bearer("jonas.jcmg")
    )
    assert response.status_code == 403
    assert "serves JC-RKN" in response.json()["detail"]
    rows = [r for r in await logged(views, ViewId.JC_RKN) if r["user_name"] == "jonas.jcmg"]
    assert len(rows) == 1
    assert rows[0]["granted"] is False
    assert rows[0]["agency"] == "JC-MG"
    assert rows[0]["case_id"] == UUID(views.case_id)
    assert rows[0]["path"] == f"/cases/{views.case_id}"
    assert rows[0]["purpose"] == "counselling"


async def test_own_jobcenter_reads_the_handed_over_case_and_it_is_logged(views: Views) -> None:
    """JC-MG reads its handed-over case: 200, logged with purpose, categories and listed ids."""
    headers = views.bearer("jonas.jcmg", "placement")
    timeline = await get(views, ViewId.JC_MG, f"/cases/{views.case_id}", headers)
    assert timeline.status_code == 200, timeline.text
    types = {e["type"] for e in timeline.json()["events"]}
    assert {"intake.person_registered", "intake.profile_recorded"} <= types
    caseload = await get(views, ViewId.JC_MG, "/cases", headers)
    assert caseload.status_code == 200
    assert views.case_id in caseload.json()
    rows = [r for r in await logged(views, ViewId.JC_MG) if r["user_name"] == "jonas.jcmg"]
    read = next(r for r in rows if r["case_id"] == UUID(views.case_id))
    assert read["granted"] is True
    assert (read["agency"], read["role"], read["purpose"]) == ("JC-MG", "case_worker", "placement")
    assert {"identity", "profile"} <= set(read["categories"])
    listing = next(r for r in rows if r["path"] == "/cases")
    assert listing["granted"] is True
    assert UUID(views.case_id) in listing["listed"]


async def test_the_caseload_is_one_read_logged_per_case(views: Views) -> None:
    """GET /caseload: the timelines of the view's cases in one answer, each equal to the
    case's own timeline, logged as a timeline read per case; a role that may not read
    timelines is refused (and logged)."""
    headers = views.bearer("cleo.jcmg", "placement")
    caseload = await get(views, ViewId.JC_MG, "/caseload?limit=1000", headers)
    assert caseload.status_code == 200, caseload.text
    by_case = {t["case_id"]: t["events"] for t in caseload.json()}
    single = await get(views, ViewId.JC_MG, f"/cases/{views.case_id}", headers)
    assert by_case[views.case_id] == single.json()["events"]
    rows = [r for r in await logged(views, ViewId.JC_MG) if r["user_name"] == "cleo.jcmg"]
    caseload_rows = [r for r in rows if r["path"] == "/caseload"]
    assert {str(r["case_id"]) for r in caseload_rows} == set(by_case)
    assert all(r["granted"] and r["categories"] for r in caseload_rows)
    dpo = views.bearer("dirk.jcmg", "audit")
    assert (await get(views, ViewId.JC_MG, "/caseload", dpo)).status_code == 403
    other = await get(views, ViewId.JC_RKN, "/caseload", headers)
    assert other.status_code == 403


async def test_case_the_view_does_not_hold_is_403_and_logged(views: Views) -> None:
    """JC-MG's case and an unknown id on the JC-RKN view: 403 "not visible", both logged."""
    unknown = str(uuid4())
    headers = views.bearer("ralf.jcrkn")
    for case in (views.case_id, unknown):
        response = await get(views, ViewId.JC_RKN, f"/cases/{case}", headers)
        assert response.status_code == 403
        assert response.json()["detail"] == "not visible to this agency"
    rows = [r for r in await logged(views, ViewId.JC_RKN) if r["user_name"] == "ralf.jcrkn"]
    assert {(r["case_id"], r["granted"], r["reason"]) for r in rows} == {
        (UUID(views.case_id), False, "not visible to this agency"),
        (UUID(unknown), False, "not visible to this agency"),
    }


async def test_disclosures_of_a_case_the_view_does_not_hold_are_403_and_logged(
    views: Views,
) -> None:
    """GET /disclosures for JC-MG's case and an unknown id on the JC-RKN view: 403 "not
    visible", logged as refused (never an empty list logged as granted); JC-MG gets its own."""
    unknown = str(uuid4())
    headers = views.bearer("dana.jcrkn", "audit")
    for case in (views.case_id, unknown):
        response = await get(views, ViewId.JC_RKN, f"/disclosures?case_id={case}", headers)
        assert response.status_code == 403, response.text
        assert response.json()["detail"] == "not visible to this agency"
    rows = [r for r in await logged(views, ViewId.JC_RKN) if r["user_name"] == "dana.jcrkn"]
    assert {(r["case_id"], r["granted"], r["reason"], r["path"]) for r in rows} == {
        (UUID(case), False, "not visible to this agency", "/disclosures")
        for case in (views.case_id, unknown)
    }
    own = views.bearer("dirk.jcmg", "audit")
    held = await get(views, ViewId.JC_MG, f"/disclosures?case_id={views.case_id}", own)
    assert held.status_code == 200
    assert held.json()
    mine = [
        r
        for r in await logged(views, ViewId.JC_MG)
        if r["user_name"] == "dirk.jcmg" and r["path"] == "/disclosures"
    ]
    assert [(r["case_id"], r["granted"]) for r in mine] == [(UUID(views.case_id), True)]


async def test_roles_and_partner_purposes_are_enforced(views: Views) -> None:
    """A data protection token cannot read a timeline; IQ reads only for its purposes."""
    dpo = views.bearer("dirk.jcmg", "audit")
    assert (await get(views, ViewId.JC_MG, f"/cases/{views.case_id}", dpo)).status_code == 403
    path = f"/cases/{views.case_id}"
    wrong = await get(views, ViewId.PARTNER_IQ, path, views.bearer("ina.iq", "placement"))
    assert wrong.status_code == 403
    right = await get(views, ViewId.PARTNER_IQ, path, views.bearer("ina.iq", "recognition"))
    assert right.status_code == 200
    assert {e["category"] for e in right.json()["events"]} == {"recognition"}


async def test_access_log_is_read_by_data_protection(views: Views) -> None:
    """GET /access-log answers the data protection officer and refuses a case worker."""
    await get(views, ViewId.JC_MG, f"/cases/{views.case_id}", views.bearer("bea.jcmg"))
    query = f"/access-log?case_id={views.case_id}"
    refused = await get(views, ViewId.JC_MG, query, views.bearer("bea.jcmg"))
    assert refused.status_code == 403
    dpo = views.bearer("dirk.jcmg", "art15_request")
    response = await get(views, ViewId.JC_MG, query, dpo)
    assert response.status_code == 200
    entries = response.json()
    assert any(e["user_name"] == "bea.jcmg" and e["granted"] and not e["listed"] for e in entries)
    assert any(e["user_name"] == "bea.jcmg" and not e["granted"] for e in entries)


async def test_access_report_lists_reads_and_disclosures(views: Views) -> None:
    """The Art. 15 report lists granted and refused reads and every disclosure with its ground."""
    await get(
        views,
        ViewId.JC_MG,
        f"/cases/{views.case_id}",
        views.bearer("carla.jcmg", "counselling"),
    )
    dsns = {view.value: dsn for view, dsn in views.dsns.items()}
    report = await access_report.access_report(UUID(views.case_id), dsns)
    assert report.complete
    carla = [a for a in report.reads if a.user == "carla.jcmg"]
    assert len(carla) == 1
    assert (carla[0].view, carla[0].agency, carla[0].purpose) == ("jc_mg", "JC-MG", "counselling")
    assert carla[0].granted
    assert "profile" in carla[0].categories
    assert any(a.user == "jonas.jcmg" and not a.granted for a in report.reads)
    to_jobcenter = [d for d in report.disclosures if d.to_view == "jc_mg"]
    assert to_jobcenter
    assert all(d.legal_basis for d in to_jobcenter)
    assert any(d.from_agency == "AA-MG" and d.legal_basis == "sgb_ii_50" for d in to_jobcenter)
    to_iq = [d for d in report.disclosures if d.to_view == "partner_iq"]
    assert to_iq
    assert {str(d.consent_id) for d in to_iq} == {views.consent_id}

    argv = [views.case_id, *(f"--dsn={view}={dsn}" for view, dsn in dsns.items())]
    text, code = await asyncio.to_thread(_run_cli, argv)
    assert code == 0
    assert "JC-MG / carla.jcmg (case_worker) in view jc_mg" in text
    assert "purpose: counselling" in text
    assert f"consent {views.consent_id}" in text
    assert "legal basis sgb_ii_50" in text


def _run_cli(argv: list[str]) -> tuple[str, int]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = access_report.main(argv)
    return out.getvalue(), code
