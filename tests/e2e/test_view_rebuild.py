"""Rebuilding a view from the topics with the CLI (``--view aa_mg``, the Agentur's): progress,
equality with the live view, and a swap while reads keep answering; afterwards the live
process projects into the new one."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest

from deploy.local.devstack import StackInfo
from deploy.local.principals import view_principal
from services.chassis.generations import checked
from services.projections.agency_app import AGENCY
from services.projections.purpose import ViewId
from tests.conftest import free_port
from tests.e2e.harness import REPO, platform_child, registration, wait_for
from tests.e2e.platform import caught_up
from tests.identity import bearer, view_reader_env

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

PERSONS = 40


@pytest.fixture
async def platform(stack: StackInfo, tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    """intake, its relay and the Agentur view (a view process) on a fresh view database."""
    admin = await asyncpg.connect(stack.admin_dsn)
    view_db = f"t_{uuid4().hex[:16]}"
    try:
        await admin.execute(f'CREATE DATABASE "{view_db}"')
    finally:
        await admin.close()
    ports = {"intake": free_port(), "view": free_port()}
    env = {
        **stack.env(),
        "IP_REACTIONS": "false",
        "IP_INTAKE_PORT": str(ports["intake"]),
        "IP_RELAY_DATABASE_URL": stack.database_dsns["intake"],
        "IP_AGENCY_VIEW": "aa_mg",
        "IP_DB_VIEW": stack.admin_dsn.rsplit("/", 1)[0] + "/" + view_db,
        "IP_AGENCY_CONSUMER_GROUP": f"projection.aa_mg.test-{view_db}",
        "IP_AGENCY_PORT": str(ports["view"]),
        "IP_INTAKE_URL": f"http://127.0.0.1:{ports['intake']}",
        **view_reader_env(stack),
    }
    children = [
        platform_child(stack, module, env, tmp_path)
        for module in (
            "services.intake",
            "services.chassis.relay",
            "services.projections.agency_main",
        )
    ]
    for child in children:
        child.start()
    await wait_for(f"http://127.0.0.1:{ports['intake']}/health")
    await wait_for(f"http://127.0.0.1:{ports['view']}/health")
    yield {
        "ports": ports,
        "env": env,
        "rebuilder": stack.kafka_env(view_principal(ViewId.AA_MG)),
        "kafka": stack.kafka,
        "reader": bearer(stack, "anna.aa"),  # the Agentur's demo case worker
        "writer": bearer(stack, "anna.aa", purpose=None),  # their commands
    }
    for child in children:
        child.stop()


async def register_with_contact(intake: httpx.AsyncClient, n: int) -> str:
    person = {
        "given_name": f"Person{n}",
        "family_name": "Rebuild",
        "date_of_birth": "1995-05-05",
        "nationality": "ERI",
        "site": "NE",
        "town": "Dormagen",
        "allocated_on": "2016-05-02",
    }
    case: str = (await intake.post("/cases", json=person)).json()["case_id"]
    await intake.post(f"/cases/{case}/first-contact", json={"contacted_on": "2016-05-12"})
    return case


def first_contact(timeline: dict[str, Any]) -> str | None:
    contacted: str | None = next(
        (
            e["data"]["contacted_on"]
            for e in timeline.get("events", [])
            if e["type"] == "intake.first_contact_made"
        ),
        None,
    )
    return contacted


async def disclosed(dsn: str, cases: list[str]) -> list[tuple[Any, ...]]:
    """The disclosure log's rows of ``cases`` (event, view, basis), as the view keeps them."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT event_id, to_view, legal_basis FROM public.disclosures"
            " WHERE case_id = ANY($1::uuid[])",
            [UUID(case) for case in cases],
        )
    finally:
        await conn.close()
    return [tuple(row) for row in rows]


async def differing(
    dsn: str, live: str, rebuilt: str, table: str, cases: list[str] | None = None
) -> tuple[int, int]:
    """Rows (of ``cases``, or all) only the live generation holds, and only the rebuilt one."""
    one, other = (f"{checked(g)}.{checked(table)}" for g in (live, rebuilt))
    # Identifiers checked above; the case ids are parameters (none: every row).
    query = (
        "SELECT count(*) FROM (SELECT * FROM {} WHERE $1::uuid[] IS NULL OR case_id = ANY($1)"
        " EXCEPT SELECT * FROM {} WHERE $1::uuid[] IS NULL OR case_id = ANY($1)) x"
    )
    ids = None if cases is None else [UUID(case) for case in cases]
    conn = await asyncpg.connect(dsn)
    try:
        only_live = await conn.fetchval(query.format(one, other), ids)
        only_rebuilt = await conn.fetchval(query.format(other, one), ids)
    finally:
        await conn.close()
    return int(only_live), int(only_rebuilt)


async def unshown(dsn: str, generation: str) -> int:
    """Log rows a generation still keeps as not shown."""
    conn = await asyncpg.connect(dsn)
    try:
        # An identifier, checked; no value in the statement.
        query = f"SELECT count(*) FROM {checked(generation)}.disclosures_unshown"  # noqa: S608
        return int(await conn.fetchval(query))
    finally:
        await conn.close()


async def until_visible(view: httpx.AsyncClient, case: str) -> dict[str, Any]:
    for _ in range(600):
        answer = await view.get(f"/cases/{case}")
        if answer.status_code == 200 and first_contact(answer.json()):
            body: dict[str, Any] = answer.json()
            return body
        await asyncio.sleep(0.1)
    raise AssertionError(f"{case} never became visible")


async def test_rebuild_equals_live_and_swaps_without_a_failed_read(
    platform: dict[str, Any],
) -> None:
    """40 cases projected; the rebuild reaches 100 %, equals the live view, swaps (printing
    its bar and findings, no log line per event); reads
    during the swap all answer 200 with the same data; a new case lands in the new one."""
    ports, env = platform["ports"], platform["env"]
    async with (
        httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{ports['intake']}",
            timeout=10,
            headers=platform["writer"],
        ) as intake,
        httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{ports['view']}", headers=platform["reader"], timeout=10
        ) as view,
    ):
        cases = [await register_with_contact(intake, n) for n in range(PERSONS)]
        before = {case: await until_visible(view, case) for case in cases}
        # The topics hold earlier tests' events too: the live view has them all before the
        # rebuild snapshots the end offsets, or the two would differ by what it lacks.
        await caught_up(platform["kafka"], [env["IP_DB_VIEW"]])
        logged_before = await disclosed(env["IP_DB_VIEW"], cases)
        assert len(logged_before) == 2 * PERSONS  # registration and first contact, each

        reads: list[tuple[int, Any]] = []
        stop_reading = asyncio.Event()

        async def keep_reading() -> None:
            while not stop_reading.is_set():
                for case in cases[:5]:
                    answer = await view.get(f"/cases/{case}")
                    reads.append((answer.status_code, first_contact(answer.json())))
                await asyncio.sleep(0.02)

        reader = asyncio.create_task(keep_reading())
        rebuild = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "services.projections.rebuild", "--view", "aa_mg"],
            cwd=REPO,
            env={**os.environ, **env, **platform["rebuilder"]},  # as the view's principal
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert rebuild.returncode == 0, rebuild.stdout + rebuild.stderr
        generation = rebuild.stdout.split("swapped: the view now reads and projects into ")[1]
        generation = generation.split()[0]
        for _ in range(100):  # the live process follows the pointer within a second
            if (await view.get("/health")).json().get("generation") == generation:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)
        stop_reading.set()
        await reader
        # The whole view is equal, table by table (before the newcomer lands in the new one):
        # every earlier test's cases on the topics too, which the rebuild read in another
        # order across topics than the live view did.
        whole = {
            t: await differing(env["IP_DB_VIEW"], "public", generation, t) for t in AGENCY.tables
        }

        after = {case: (await view.get(f"/cases/{case}")).json() for case in cases}
        newcomer = await register_with_contact(intake, PERSONS)
        landed = await until_visible(view, newcomer)

    assert "100%" in rebuild.stdout
    assert "equals the live generation" in rebuild.stdout, rebuild.stdout
    # The bar and the findings only: no JSON log line per event beside them.
    logged = [
        line
        for line in (rebuild.stdout + rebuild.stderr).splitlines()
        if line.lstrip("\r ").startswith("{")
    ]
    assert logged == [], logged[:3]
    assert whole == dict.fromkeys(AGENCY.tables, (0, 0))
    assert (await view_health(ports))["generation"] == generation
    assert reads
    assert {status for status, _ in reads} == {200}
    assert {first for _, first in reads} == {"2016-05-12"}
    assert after == before
    person = registration(landed)
    assert person is not None
    assert person["given_name"] == f"Person{PERSONS}"
    # Since the swap only the new generation takes events: it holds the newcomer, the old not.
    assert await differing(env["IP_DB_VIEW"], "public", generation, "case_facts", [newcomer]) == (
        0,
        1,
    )
    assert await differing(env["IP_DB_VIEW"], "public", generation, "case_events", [newcomer]) == (
        0,
        2,
    )
    # The disclosure log went through the swap: every disclosure of the live view is still
    # there, and the newcomer's two (projected by the new generation) joined it.
    assert set(logged_before) <= set(await disclosed(env["IP_DB_VIEW"], cases))
    assert len(await disclosed(env["IP_DB_VIEW"], [newcomer])) == 2
    # What the rebuild logged while nobody was shown its generation joined the log when the
    # live process moved over to it.
    assert await unshown(env["IP_DB_VIEW"], generation) == 0


def test_rebuild_cli_explains_itself_and_names_every_view() -> None:
    """--help describes the command and offers every view, steering included."""
    answer = subprocess.run(
        [sys.executable, "-m", "services.projections.rebuild", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert answer.returncode == 0
    assert "--view" in answer.stdout
    assert "--no-swap" in answer.stdout
    for view in ViewId:
        assert view.value in answer.stdout


async def view_health(ports: dict[str, int]) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=5) as client:
        health: dict[str, Any] = (
            await client.get(f"http://127.0.0.1:{ports['view']}/health")
        ).json()
        return health
