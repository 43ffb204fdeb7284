"""The retention job on intake's real database: cases seeded with old business dates, a
dry run that lists what expired and changes nothing, then ``--apply`` erasing exactly that
(recorded with the job and the rule): a person whose case file ran out through the erasure
command, the course data alone of a case still open; the rest untouched."""

from __future__ import annotations

import asyncio
import io
import json
import os
import sys
from collections.abc import AsyncIterator
from datetime import date
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import pytest

from deploy.local.devstack import StackInfo
from services.intake.app import create_app
from services.intake.retention import packaged_schedule, run
from services.intake.retention_rules import parse_schedule
from services.intake.settings import IntakeSettings
from tests.conftest import fetch
from tests.identity import verifying
from tests.tokens import command_client, signed

pytestmark = pytest.mark.postgres

TODAY = date(2021, 4, 1)  # the job's injected clock
SECRETS = ("Yonas", "Gebremariam", "1991-01-17")


def person(given_name: str = SECRETS[0]) -> dict[str, Any]:
    return {
        "given_name": given_name,
        "family_name": SECRETS[1],
        "date_of_birth": SECRETS[2],
        "nationality": "ERI",
        "site": "MG",
        "town": "Mönchengladbach",
        "allocated_on": "2016-02-01",
    }


@pytest.fixture
async def api(fresh_dsn: str, stack: StackInfo) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        IntakeSettings(intake_database_url=fresh_dsn, reactions=False, **verifying(stack))
    )
    async with (
        app.router.lifespan_context(app),
        command_client(app, stack, "http://intake") as client,
    ):
        yield client


async def post(
    api: httpx.AsyncClient, path: str, body: dict[str, Any], signer: dict[str, str] | None = None
) -> Any:
    """A command signed as the client's agency (the Agentur), or by ``signer``."""
    response = await api.post(path, json=body, headers=signer or {})
    assert response.status_code == 201, response.text
    return response.json()


async def close(
    api: httpx.AsyncClient, case: str, on: str, signer: dict[str, str] | None = None
) -> None:
    await post(api, f"/cases/{case}/closing", {"reason": "work", "closed_on": on}, signer)


async def seed(api: httpx.AsyncClient, dsn: str, jobcenter: dict[str, str]) -> dict[str, str]:
    """Six cases; on 1 April 2021 the Agentur's case closed 31 March 2016 has run out, and
    the course data of the open one whose last course ended 15 March 2016; the others not
    (``jobcenter`` signs JC-MG's commands)."""
    cases = {
        name: (await post(api, "/cases", person()))["case_id"]
        for name in (
            "closed_5y_ago",
            "closed_later",
            "open",
            "course_ended",
            "course_running",
            "jobcenter",
        )
    }
    await close(api, cases["closed_5y_ago"], "2016-03-31")
    await close(api, cases["closed_later"], "2016-04-01")
    jc = cases["jobcenter"]
    await post(api, f"/cases/{jc}/identifiers", {"kind": "bamf_file_number", "value": "7123456-1"})
    await post(
        api,
        f"/cases/{jc}/residence-status",
        {"status": "aufenthaltsgestattung", "valid_from": "2016-02-01", "stay_since": "2016-01-10"},
    )
    await post(
        api,
        f"/cases/{jc}/asylum-decision",
        {"outcome": "fluechtlingseigenschaft", "decided_on": "2016-02-20"},
    )
    await post(api, f"/cases/{jc}/sgb2-application", {"applied_on": "2016-02-25"})
    bodies = await stored(dsn, jc)
    handover = bodies[-1]["data"]["handover_id"]
    await post(
        api,
        f"/cases/{jc}/hand-overs/acceptance",
        {"handover_id": handover, "accepted_on": "2016-03-01"},
        jobcenter,
    )
    await close(api, jc, "2016-03-31", jobcenter)  # the Jobcenter keeps ten years
    conn = await asyncpg.connect(dsn)
    try:  # what intake's reactions record when the language service reports the courses
        for name, ended in (("course_ended", True), ("course_running", False)):
            await conn.execute(
                "INSERT INTO milestone_facts (case_id, kind, item, label, ended, occurred_at)"
                " VALUES ($1, 'course', 'enrolment-1', 'BSK B1-B2', $2, '2016-03-15T10:00:00Z')",
                UUID(cases[name]),
                ended,
            )
    finally:
        await conn.close()
    return cases


async def stored(dsn: str, case: str) -> list[dict[str, Any]]:
    sql = "SELECT body::text FROM events WHERE stream_id = $1 ORDER BY version"
    return [json.loads(r["body"]) for r in await fetch(dsn, sql, UUID(case))]


async def keys_left(dsn: str) -> dict[str, int]:
    sql = "SELECT case_id, count(secret) AS n FROM person_keys GROUP BY case_id"
    return {str(r["case_id"]): r["n"] for r in await fetch(dsn, sql)}


async def job(dsn: str, *, apply: bool) -> tuple[list[str], str]:
    out = io.StringIO()
    due = await run(
        dsn,
        parse_schedule(packaged_schedule()),
        TODAY,
        apply=apply,
        out=out,
        progress=lambda *_: None,
    )
    return [str(e.case_id) for e in due], out.getvalue()


async def courses_known(dsn: str, case: str) -> int:
    sql = "SELECT count(*) AS n FROM milestone_facts WHERE case_id = $1 AND kind = 'course'"
    return int((await fetch(dsn, sql, UUID(case)))[0]["n"])


async def test_dry_run_lists_then_apply_erases_exactly_the_expired(
    api: httpx.AsyncClient,
    fresh_dsn: str,
    stack: StackInfo,
) -> None:
    """Dry run: the closed case and the open case's course data listed with rule and date,
    nothing changed. Apply: the closed case's person erased under its rule, keys deleted; of
    the open case only the course data (intake.category_erased), the person and keys stay;
    the four others untouched."""
    cases = await seed(api, fresh_dsn, signed(stack, "JC-MG"))
    expired = {cases["closed_5y_ago"], cases["course_ended"]}
    before = {name: await stored(fresh_dsn, case) for name, case in cases.items()}
    keys_before = await keys_left(fresh_dsn)

    listed, listing = await job(fresh_dsn, apply=False)

    assert set(listed) == expired
    for shown in ("sgb3-case-file", "deufoev-course-data", "2021-03-31", "2021-03-15"):
        assert shown in listing
    assert "person" in listing
    assert "language" in listing
    assert "§ 26 Abs. 3 DeuFöV" in listing
    assert not any(secret in listing for secret in SECRETS), "personal data in the listing"
    assert {name: await stored(fresh_dsn, case) for name, case in cases.items()} == before
    assert await keys_left(fresh_dsn) == keys_before

    erased, report = await job(fresh_dsn, apply=True)

    assert set(erased) == expired
    assert "2 of 2 expiries erased on 2021-04-01 (1 persons, 1 categories)" in report
    keys = await keys_left(fresh_dsn)
    for name, case in cases.items():
        events = await stored(fresh_dsn, case)
        if name == "closed_5y_ago":
            last = events[-1]
            assert last["type"] == "intake.person_erased", name
            assert last["agency"] == "AA-MG"
            assert last["data"]["erased_on"] == "2021-04-01"
            assert last["data"]["reason"].startswith("retention job: rule sgb3-case-file (")
            assert keys[case] == 0, f"{name} kept a key"
        elif name == "course_ended":
            assert events[:-1] == before[name]
            assert events[-1]["type"] == "intake.category_erased"
            assert events[-1]["data"] | {"legal_basis": "…"} == {
                "type": "intake.category_erased",
                "schema_version": 1,
                "category": "language",
                "controller": "AA-MG",
                "rule": "deufoev-course-data",
                "legal_basis": "…",
                "kept_until": "2021-03-15",
                "erased_on": "2021-04-01",
            }
            assert "§ 26 Abs. 3 DeuFöV" in events[-1]["data"]["legal_basis"]
            assert keys[case] == 1, "the open case's person was erased"
            assert await courses_known(fresh_dsn, case) == 0, "intake kept the course data"
        else:
            assert events == before[name], f"{name} changed"
            assert keys[case] == 1, f"{name} lost its key"

    again, second = await job(fresh_dsn, apply=True)
    assert again == []
    assert "0 of 0 expiries erased" in second


async def test_the_command_line_lists_with_progress_and_its_own_clock(
    api: httpx.AsyncClient,
    fresh_dsn: str,
    stack: StackInfo,
) -> None:
    """``python -m services.intake.retention --today`` scans with a progress bar on stderr
    and lists on stdout; it is a dry run unless told ``--apply``."""
    cases = await seed(api, fresh_dsn, signed(stack, "JC-MG"))

    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.intake.retention",
        "--today",
        "2031-04-02",
        env={**os.environ, "IP_DB_INTAKE": fresh_dsn, "IP_LOG_JSON": "true"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)

    assert process.returncode == 0, err.decode()
    listing = out.decode()
    # Ten years on, the Jobcenter's file and every closed case has run out; of the open case
    # whose course ended, the course data.
    for name in ("closed_5y_ago", "closed_later", "course_ended", "jobcenter"):
        assert cases[name] in listing, name
    for name in ("open", "course_running"):
        assert cases[name] not in listing, name
    assert "4 expired on 2031-04-02; dry run, nothing erased" in listing
    course_line = next(line for line in listing.splitlines() if cases["course_ended"] in line)
    assert " language " in course_line
    assert "6/6 cases" in err.decode()
    assert all(
        e["type"] != "intake.person_erased" for e in await stored(fresh_dsn, cases["jobcenter"])
    )
