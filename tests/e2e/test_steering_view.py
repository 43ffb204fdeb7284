"""The steering view on the real broker and databases: a fixed scenario through the four
services, then the month's figures from the view's read API (JSON and CSV) with a steering
token: cells and the two rounds' totals, suppressed ones that no subtraction recovers, no
person's data in the view's database, and the same figures after a rebuild of the view from
the topics."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from uuid import uuid4

import asyncpg
import httpx
import pytest

from deploy.local.devstack import StackInfo
from deploy.local.principals import view_principal
from services.projections.agency_settings import AgencyViewSettings
from services.projections.purpose import ViewId
from services.projections.rebuild import rebuild_view
from services.projections.steering import FigureRow
from services.projections.steering_totals import Publication, TotalRow
from services.projections.views import create_app
from tests.conftest import free_port
from tests.e2e.harness import serving
from tests.e2e.platform import (
    Platform,
    caught_up,
    fresh_database,
    running_platform,
)
from tests.identity import bearer, verifying, view_reader
from tests.unit.test_steering_totals import recovered

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

NAME = "Rania"


# Demo users (deploy/local/keycloak/): JC-MG's member of the steering round, a case worker of
# JC-MG, and IQ's counsellor (a partner, not an agency of the network).
USERS = {"steering": "sven.jcmg", "case_worker": "jonas.jcmg", "iq_counselling": "ina.iq"}


@dataclass
class Steering:
    platform: Platform
    view: httpx.AsyncClient
    settings: AgencyViewSettings
    month: date  # the scenario's month: the topics hold other tests' events in other months

    def token(self, role: str = "steering", agency: str = "JC-MG") -> dict[str, str]:
        """A demo user's Authorization header: of ``agency`` (or IQ) in ``role``."""
        user = USERS[agency if agency == "iq_counselling" else role]
        purpose = "steering" if role == "steering" else "counselling"
        return bearer(self.platform.stack, user, purpose)


@pytest.fixture
async def steering(stack: StackInfo) -> AsyncIterator[Steering]:
    """The four services and the steering view on fresh databases."""
    dsn = await fresh_database(stack.admin_dsn)
    # A month of its own per run: the shared topics keep every earlier run's events.
    seed = uuid4().int
    month = date(1970 + seed % 40, 1 + (seed >> 8) % 12, 1)
    async with running_platform(stack) as platform:
        settings = AgencyViewSettings(
            agency_view=ViewId.STEERING,
            agency_database_url=dsn,
            agency_consumer_group=f"projection.steering.test-{dsn.rsplit('/', 1)[1]}",
            **stack.kafka_settings(view_principal(ViewId.STEERING)),
            intake_url=platform.urls["intake"],
            **verifying(stack),
            **view_reader(stack),
        )
        async with (
            serving(create_app(settings), free_port()) as url,
            httpx.AsyncClient(base_url=url, timeout=30) as view,
        ):
            yield Steering(platform, view, settings, month)


async def register(platform: Platform, site: str, town: str, born: date, allocated: date) -> str:
    person = {
        "given_name": NAME,
        "family_name": "Steering",
        "date_of_birth": born.isoformat(),
        "nationality": "SYR",
        "site": site,
        "town": town,
        "allocated_on": allocated.isoformat(),
    }
    case: str = (await platform.command("intake", "/cases", person))["case_id"]
    return case


async def scenario(platform: Platform, month: date) -> None:
    """MG: six persons of 40, first contacted after 3, 5, 8, 10, 12 and 20 days.
    GV: five persons of 20, not yet contacted. NE: two persons of 40."""
    older, young = month.replace(year=month.year - 40), month.replace(year=month.year - 20)
    allocated = month + timedelta(days=1)
    for days in (3, 5, 8, 10, 12, 20):
        case = await register(platform, "MG", "Mönchengladbach", older, allocated)
        contact = {"contacted_on": (allocated + timedelta(days=days)).isoformat()}
        await platform.command("intake", f"/cases/{case}/first-contact", contact)
    for _ in range(5):
        await register(platform, "GV", "Grevenbroich", young, allocated)
    for _ in range(2):
        await register(platform, "NE", "Kaarst", older, allocated)


def cell(body: dict[str, Any], figure: str, site: str, age_band: str) -> dict[str, Any]:
    rows: list[dict[str, Any]] = [
        r
        for r in body["rows"]
        if (r["figure"], r["site"], r["rechtskreis"], r["age_band"])
        == (figure, site, "SGB III", age_band)
    ]
    assert len(rows) == 1, rows
    return rows[0]


def total(body: dict[str, Any], figure: str, area: str, rechtskreis: str | None = None) -> Any:
    rows = [
        t
        for t in body["totals"]
        if (t["figure"], t["area"], t["rechtskreis"], t["age_band"])
        == (figure, area, rechtskreis, None)
    ]
    assert len(rows) == 1, rows
    return rows[0]


def published(body: dict[str, Any]) -> Publication:
    """The answer read back into rows, for the attack (the enums are strings: equal alike)."""
    month = body["month"]
    return Publication(
        [FigureRow(**r, month=month) for r in body["rows"]],
        [TotalRow(**t, month=month) for t in body["totals"]],
    )


async def test_steering_figures_suppression_csv_and_rebuild(steering: Steering) -> None:
    """Allocations and first-contact days per Integration Point from the endpoint; the cells
    are withheld, the small ones and those beside them (else the IP's total less them would
    show the others empty); no subtraction recovers one; the CSV says the same; a rebuild
    gives identical figures."""
    month = steering.month.strftime("%Y-%m")
    await scenario(steering.platform, steering.month)
    await caught_up(steering.platform.stack.kafka, [steering.settings.agency_database_url])
    answer = await steering.view.get("/figures", params={"month": month}, headers=steering.token())
    assert answer.status_code == 200, answer.text
    body = answer.json()

    older = "25 und älter"
    assert body["month"] == month
    assert body["min_cell_persons"] == 5
    versions = {d["figure"]: d["version"] for d in body["definitions"]}
    assert versions["intake.allocation"] == "intake.allocation@1"
    assert all(r["version"] == versions[r["figure"]] for r in body["rows"])
    assert cell(body, "intake.allocation", "MG", older)["suppressed"]  # protects the others
    mg = total(body, "intake.allocation", "IP-MG")
    assert (mg["value"], mg["persons"], mg["suppressed"]) == (6, 6, False)
    assert mg["label"] == "IP Mönchengladbach gesamt"
    assert total(body, "first_contact.days_median", "IP-MG")["value"] == 8
    assert total(body, "first_contact.days_p90", "IP-MG")["value"] == 20
    assert total(body, "first_contact.within_14_days_share", "IP-MG")["value"] == 83.3
    rkn = total(body, "intake.allocation", "IP-RKN")
    assert (rkn["value"], rkn["persons"], rkn["label"]) == (7, 7, "IP Rhein-Kreis Neuss gesamt")
    jobcenter = total(body, "intake.allocation", "IP-RKN", "SGB II")
    assert (jobcenter["label"], jobcenter["suppressed"]) == ("Jobcenter Rhein-Kreis Neuss", True)
    assert total(body, "intake.allocation", "GV", "SGB III")["value"] == 5
    ne = cell(body, "intake.allocation", "NE", older)
    assert (ne["value"], ne["persons"], ne["suppressed"]) == (None, None, True)
    for figure in {r["figure"] for r in body["rows"]}:
        assert recovered(published(body), figure) == {}, figure

    csv_answer = await steering.view.get(
        "/figures.csv", params={"month": month}, headers=steering.token()
    )
    assert csv_answer.status_code == 200
    assert csv_answer.headers["content-type"].startswith("text/csv")
    assert f"steering-{month}.csv" in csv_answer.headers["content-disposition"]
    exported = {
        (r["figure"], r["site"], r["rechtskreis"], r["age_band"]): r
        for r in csv.DictReader(io.StringIO(csv_answer.text))
    }
    assert len(exported) == len(body["rows"]) + len(body["totals"])
    ip_mg = exported["intake.allocation", "IP-MG", "alle", "alle"]
    assert (ip_mg["value"], ip_mg["total"], ip_mg["label"]) == (
        "6",
        "true",
        "IP Mönchengladbach gesamt",
    )
    ne_row = exported["intake.allocation", "NE", "SGB III", older]
    assert (ne_row["value"], ne_row["persons"], ne_row["suppressed"]) == ("", "", "true")

    months = await steering.view.get("/months", headers=steering.token())
    assert month in months.json()["months"]

    # The view's database holds no person: no name, no birth date.
    conn = await asyncpg.connect(steering.settings.agency_database_url)
    try:
        dump = str(await conn.fetch("SELECT * FROM steering_cases"))
        # The birth date, opened with the person's key, leaves the day the young ones turn
        # 25 (their band), and nothing for the older ones (older on every day).
        young = await conn.fetchval(
            "SELECT count(*) FROM steering_cases"
            " WHERE turns_25_on > $1 AND record->>'allocated_on' = $2",
            steering.month,
            (steering.month + timedelta(days=1)).isoformat(),
        )
    finally:
        await conn.close()
    assert NAME not in dump
    assert young == 5
    assert steering.month.replace(year=steering.month.year - 40).isoformat() not in dump

    said: list[str] = []
    rebuilt = await rebuild_view(steering.settings, swap=True, say=said.append)
    assert rebuilt.differences == [], said
    for _ in range(100):  # the live view follows the pointer within a second
        if (await steering.view.get("/health")).json()["generation"] == rebuilt.generation:
            break
        await asyncio.sleep(0.1)
    again = await steering.view.get("/figures", params={"month": month}, headers=steering.token())
    assert (await steering.view.get("/health")).json()["generation"] == rebuilt.generation
    assert again.json() == body


async def test_steering_reads_need_the_steering_role(steering: Steering) -> None:
    """No token: 401. A case worker's token: 403, logged. Cases: not served at all."""
    month = steering.month.strftime("%Y-%m")
    assert (await steering.view.get("/figures", params={"month": month})).status_code == 401
    refused = await steering.view.get(
        "/figures", params={"month": month}, headers=steering.token(role="case_worker")
    )
    assert refused.status_code == 403
    assert "steering" in refused.json()["detail"]
    stranger = await steering.view.get("/months", headers=steering.token(agency="iq_counselling"))
    assert stranger.status_code == 403
    bad_month = await steering.view.get(
        "/figures", params={"month": "2016-13"}, headers=steering.token()
    )
    assert bad_month.status_code == 422
    assert (await steering.view.get("/cases", headers=steering.token())).status_code == 404
    conn = await asyncpg.connect(steering.settings.agency_database_url)
    try:
        logged = await conn.fetch(
            "SELECT role, granted, reason FROM public.access_log WHERE path = '/figures'"
        )
    finally:
        await conn.close()
    assert [(r["role"], r["granted"]) for r in logged] == [("case_worker", False)]
