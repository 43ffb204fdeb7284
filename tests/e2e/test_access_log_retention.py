"""The access log of an erased person (Art. 17(3), Art. 5(2) DSGVO), end to end: the view's
rows of reads stay after the erasure, to the end of the following year; then the retention
job removes the reads of the case and its id from caseload lists, and nothing else."""

from __future__ import annotations

import asyncio
import io
import os
import sys
from collections.abc import AsyncIterator
from datetime import date
from typing import Any
from uuid import UUID

import httpx
import pytest

from deploy.local.devstack import StackInfo
from services.projections.access_log_retention import run
from services.projections.purpose import ViewId
from tests.conftest import fetch
from tests.e2e.platform import Platform, running_platform, serving_view, until
from tests.identity import bearer

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


@pytest.fixture
async def world(stack: StackInfo) -> AsyncIterator[tuple[Platform, str, str]]:
    """The four services and the Agentur MG's agency view (its database and URL)."""
    async with (
        running_platform(stack) as platform,
        serving_view(platform, ViewId.AA_MG) as (dsn, url),
    ):
        yield platform, dsn, url


def reader(platform: Platform) -> dict[str, str]:
    """The Agentur's demo case worker's Authorization header."""
    return bearer(platform.stack, "anna.aa")


async def register(platform: Platform, given_name: str) -> str:
    body = {
        "given_name": given_name,
        "family_name": "Amanuel",
        "date_of_birth": "1993-08-08",
        "nationality": "ERI",
        "site": "MG",
        "town": "Mönchengladbach",
        "allocated_on": "2016-04-01",
    }
    case: str = (await platform.command("intake", "/cases", body))["case_id"]
    return case


async def log_of(dsn: str) -> list[dict[str, Any]]:
    rows = await fetch(dsn, "SELECT id, case_id, listed, path FROM public.access_log ORDER BY id")
    return [dict(r) for r in rows]


async def test_erased_persons_access_log_is_kept_then_removed(
    world: tuple[Platform, str, str],
) -> None:
    """Reads of two cases are logged; one person is erased on 1 Sept 2016: its log rows stay
    through 31 Dec 2017 and go on 1 Jan 2018 (dry run first), the other person's stay."""
    platform, dsn, url = world
    erased, kept = await register(platform, "Senait"), await register(platform, "Filmon")
    async with httpx.AsyncClient(base_url=url, timeout=30) as view:

        async def holds_both() -> bool:
            answers = [
                await view.get(f"/cases/{c}", headers=reader(platform)) for c in (erased, kept)
            ]
            return all(a.status_code == 200 for a in answers)

        await until(holds_both, "the view never held both cases")
        listing = await view.get("/cases", headers=reader(platform))
        assert listing.status_code == 200
    await platform.command(
        "intake",
        f"/cases/{erased}/erasure",
        {"reason": "Antrag nach Art. 17 DSGVO, geprüft", "erased_on": "2016-09-01"},
    )

    async def erasure_seen() -> bool:
        return bool(
            await fetch(dsn, "SELECT 1 FROM public.erasures WHERE case_id = $1", UUID(erased))
        )

    await until(erasure_seen, "the view never recorded the erasure")
    before = await log_of(dsn)
    assert any(r["case_id"] == UUID(erased) for r in before), "reads of the case were logged"
    assert any(UUID(erased) in r["listed"] for r in before), "a caseload showed the case"

    # (The topics may hold erasures of earlier runs: only this test's cases are judged.)
    mine = {UUID(erased), UUID(kept)}
    kept_through = await run({"aa_mg": dsn}, date(2017, 12, 31), apply=True, out=io.StringIO())
    dry = io.StringIO()
    due = [
        d
        for d in await run({"aa_mg": dsn}, date(2018, 1, 1), apply=False, out=dry)
        if d.case_id in mine
    ]

    assert [d for d in kept_through if d.case_id in mine] == []
    assert await log_of(dsn) == before, "kept through the end of the following year"
    assert [(d.case_id, d.erased_on) for d in due] == [(UUID(erased), date(2016, 9, 1))]
    assert due[0].rows >= 1
    assert due[0].listings >= 1
    assert "2017-12-31" in dry.getvalue()

    await _cli_dry_run(dsn, erased)
    await run({"aa_mg": dsn}, date(2018, 1, 1), apply=True, out=io.StringIO())

    after = await log_of(dsn)
    assert not any(r["case_id"] == UUID(erased) for r in after)
    assert not any(UUID(erased) in r["listed"] for r in after)
    assert erased not in " ".join(r["path"] for r in after)
    assert [r for r in before if r["case_id"] == UUID(kept)] == [
        r for r in after if r["case_id"] == UUID(kept)
    ], "the other person's reads stay"
    assert any(UUID(kept) in r["listed"] for r in after), "lists keep the other case"
    again = await run({"aa_mg": dsn}, date(2019, 1, 1), apply=True, out=io.StringIO())
    assert [d for d in again if d.case_id in mine] == []


async def _cli_dry_run(dsn: str, erased: str) -> None:
    """The command line lists the same, and changes nothing (a dry run by default)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.projections.access_log_retention",
        "--today",
        "2018-01-01",
        "--dsn",
        f"aa_mg={dsn}",
        env=dict(os.environ),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, err.decode()
    assert erased in out.decode()
    assert "access logs due (dry run, nothing removed" in out.decode()
