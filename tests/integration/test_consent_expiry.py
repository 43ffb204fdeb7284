"""Consent expiry by itself, on intake's real database: the intake process records a consent
whose valid_until has come as expired without anyone asking, and a pass judges on the day
it is given (the clock is passed in), once per consent, also for a closed case."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import date
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest

from contracts.intake import TOPIC, intake_codec
from deploy.local.devstack import StackInfo
from services.chassis.eventstore import PostgresEventStore
from services.chassis.service import WriteSide
from services.intake.app import create_app, intake_ports
from services.intake.consent_expiry import expire_lapsed
from services.intake.settings import IntakeSettings
from tests.conftest import fetch
from tests.identity import verifying
from tests.tokens import command_client

pytestmark = pytest.mark.postgres

PERSON = {
    "given_name": "Yonas",
    "family_name": "Gebremariam",
    "date_of_birth": "1991-01-17",
    "nationality": "ERI",
    "site": "MG",
    "town": "Mönchengladbach",
    "allocated_on": "2016-02-01",
}


def consent_body(consent_id: str, valid_until: str | None) -> dict[str, Any]:
    return {
        "consent_id": consent_id,
        "purposes": ["recognition"],
        "recipients": [{"partner": "iq_counselling"}],
        "data_categories": ["recognition"],
        "notice_version": "2016-01",
        "notice_language": "ti",
        "method": "written",
        "given_on": "2016-02-09",
        "valid_until": valid_until,
    }


async def client(seconds: float, dsn: str, stack: StackInfo) -> AsyncIterator[httpx.AsyncClient]:
    settings = IntakeSettings(
        intake_database_url=dsn,
        reactions=False,
        intake_consent_expiry_seconds=seconds,
        **verifying(stack),
    )
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        command_client(app, stack, "http://intake") as api,  # the Agentur's case worker
    ):
        yield api


@pytest.fixture
async def ticking(fresh_dsn: str, stack: StackInfo) -> AsyncIterator[httpx.AsyncClient]:
    """Intake with its expiry task every 0.2 s on the real clock."""
    async for api in client(0.2, fresh_dsn, stack):
        yield api


@pytest.fixture
async def still(fresh_dsn: str, stack: StackInfo) -> AsyncIterator[httpx.AsyncClient]:
    """Intake without its task: the test drives the pass with its own clock."""
    async for api in client(0, fresh_dsn, stack):
        yield api


async def post(api: httpx.AsyncClient, path: str, body: dict[str, Any]) -> Any:
    response = await api.post(path, json=body)
    assert response.status_code == 201, response.text
    return response.json()


async def stored(dsn: str, case: str) -> list[dict[str, Any]]:
    sql = "SELECT body::text FROM events WHERE stream_id = $1 ORDER BY version"
    return [json.loads(r["body"]) for r in await fetch(dsn, sql, UUID(case))]


async def test_the_intake_process_records_a_lapsed_consent_by_itself(
    ticking: httpx.AsyncClient, fresh_dsn: str
) -> None:
    """A consent valid until 9 February 2017 (its last day, long past on the real clock) is
    recorded as expired from the next day by the process, on behalf of the responsible
    agency; no one calls the expiry endpoint. An open-ended consent of the same person
    stays."""
    case = (await post(ticking, "/cases", PERSON))["case_id"]
    ending, lasting = str(uuid4()), str(uuid4())
    await post(ticking, f"/cases/{case}/consents", consent_body(ending, "2017-02-09"))
    await post(ticking, f"/cases/{case}/consents", consent_body(lasting, None))

    for _ in range(150):
        expired = [e for e in await stored(fresh_dsn, case) if e["type"].endswith("expired")]
        if expired:
            break
        await asyncio.sleep(0.1)

    assert [(e["data"]["consent_id"], e["data"]["expired_on"]) for e in expired] == [
        (ending, "2017-02-10")
    ]
    assert expired[0]["agency"] == "AA-MG"
    await asyncio.sleep(0.5)  # more passes record nothing more
    types = [e["type"] for e in await stored(fresh_dsn, case)]
    assert types.count("intake.consent_expired") == 1


async def test_a_pass_judges_on_the_day_it_is_given_once_per_consent(
    still: httpx.AsyncClient, fresh_dsn: str
) -> None:
    """Valid until 1 June 2030, its last day: nothing lapses on 1 June, on 2 June it does
    (also on a case closed meanwhile); a second pass records nothing again."""
    case = (await post(still, "/cases", PERSON))["case_id"]
    consent = str(uuid4())
    await post(still, f"/cases/{case}/consents", consent_body(consent, "2030-06-01"))
    await post(still, f"/cases/{case}/closing", {"reason": "work", "closed_on": "2016-09-01"})
    pool = await asyncpg.create_pool(fresh_dsn, min_size=1, max_size=2)
    try:
        write_side = WriteSide(pool, PostgresEventStore(pool, TOPIC, intake_codec))
        ports = intake_ports(write_side)

        before = await expire_lapsed(write_side, ports, date(2030, 6, 1))
        listed = await expire_lapsed(write_side, ports, date(2030, 6, 2), apply=False)
        on_the_day = await expire_lapsed(write_side, ports, date(2030, 6, 2))
        again = await expire_lapsed(write_side, ports, date(2030, 6, 3))
    finally:
        await pool.close()

    assert before == []
    assert listed == on_the_day == [(UUID(case), UUID(consent))]
    assert again == []
    last = (await stored(fresh_dsn, case))[-1]
    assert (last["type"], last["data"]["expired_on"]) == ("intake.consent_expired", "2030-06-02")
