"""Key rotation end to end: after a person's key is rotated, the Agentur's view opens the
events sealed before (old key id) and after (new key id); after the erasure, which deletes
every key of the person, it opens neither."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import pytest

from deploy.local.devstack import StackInfo
from services.projections.purpose import ViewId
from tests.conftest import fetch
from tests.e2e.platform import Platform, running_platform, serving_view, until
from tests.tokens import signed

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

NAME, BAMF = "Rahel", "5123987-232"


@pytest.fixture
async def world(stack: StackInfo) -> AsyncIterator[tuple[Platform, str]]:
    """The four services and the Agentur MG's agency view."""
    async with (
        running_platform(stack) as platform,
        serving_view(platform, ViewId.AA_MG) as (dsn, _),
    ):
        yield platform, dsn


async def held(dsn: str, case_id: str) -> dict[str, dict[str, Any]]:
    """The view's rows of the case by event type, their data as stored."""
    rows = await fetch(dsn, "SELECT type, data FROM case_events WHERE case_id = $1", UUID(case_id))
    return {row["type"]: json.loads(row["data"]) for row in rows}


async def test_view_opens_events_of_both_keys_and_none_after_erasure(
    world: tuple[Platform, str],
) -> None:
    """Registered under the first key, identifier linked under the rotated one: the view
    shows both; after erasure it shows neither, while the non-personal facts stay."""
    platform, dsn = world
    case = (
        await platform.command(
            "intake",
            "/cases",
            {
                "given_name": NAME,
                "family_name": "Tesfay",
                "date_of_birth": "1994-05-05",
                "nationality": "ERI",
                "site": "MG",
                "town": "Mönchengladbach",
                "allocated_on": "2016-03-01",
            },
        )
    )["case_id"]
    rotated = await platform.clients["intake"].post(
        f"/cases/{case}/key-rotation", headers=signed(platform.stack)
    )
    assert rotated.status_code == 201
    await platform.command(
        "intake", f"/cases/{case}/identifiers", {"kind": "bamf_file_number", "value": BAMF}
    )
    stored = await platform.stored("intake", case)
    assert stored[0]["data"]["given_name"]["key_id"] != rotated.json()["key_id"]
    assert stored[1]["data"]["value"]["key_id"] == rotated.json()["key_id"]

    async def both_open() -> bool:
        rows = await held(dsn, case)
        return (
            rows.get("intake.person_registered", {}).get("given_name") == NAME
            and rows.get("intake.identifier_linked", {}).get("value") == BAMF
        )

    await until(both_open, "the view did not open the events of both keys")

    await platform.command(
        "intake",
        f"/cases/{case}/erasure",
        {"reason": "Antrag nach Art. 17 DSGVO, geprüft", "erased_on": "2016-09-01"},
    )

    async def none_open() -> bool:
        rows = await held(dsn, case)
        return (
            "intake.person_erased" in rows
            and rows["intake.person_registered"].get("given_name") is None
            and rows["intake.identifier_linked"].get("value") is None
        )

    await until(none_open, "the view kept what the erased keys opened")
    rows = await held(dsn, case)
    assert NAME not in str(rows)
    assert BAMF not in str(rows)
    assert rows["intake.person_registered"]["allocated_on"] == "2016-03-01"  # facts stay
    assert rows["intake.identifier_linked"]["kind"] == "bamf_file_number"
