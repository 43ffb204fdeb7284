"""Crash the Agentur view's process (a view process, ``aa_mg``) with SIGKILL while it catches
up, restart it, and find the view exact: every event held once, none lost, relay duplicates
ignored."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import asyncpg
import httpx
import pytest

from contracts.intake import TOPIC
from deploy.local.devstack import StackInfo
from services.chassis.offsets import topic_bounds
from tests.conftest import free_port
from tests.e2e.harness import ChildProcess, platform_child, wait_for
from tests.identity import bearer, view_reader_env

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

PERSONS = 500


def person(n: int) -> dict[str, object]:
    return {
        "given_name": f"Person{n}",
        "family_name": f"Family{n}",
        "date_of_birth": "1990-01-01",
        "nationality": "SYR",
        "site": "GV",
        "town": "Grevenbroich",
        "allocated_on": "2016-04-01",
    }


@dataclass
class Processes:
    intake: ChildProcess
    relay: ChildProcess
    view: ChildProcess
    intake_url: str


@pytest.fixture
def processes(stack: StackInfo, tmp_path: Path) -> Iterator[Processes]:
    """Intake, its relay and the Agentur view as child processes on the stack's databases."""
    intake_port, view_port = free_port(), free_port()
    env = {
        **stack.env(),
        "IP_INTAKE_PORT": str(intake_port),
        "IP_RELAY_DATABASE_URL": stack.database_dsns["intake"],
        "IP_RELAY_NAME": "intake.relay",
        "IP_AGENCY_VIEW": "aa_mg",
        "IP_DB_VIEW": stack.database_dsns["proj_aa_mg"],
        "IP_AGENCY_PORT": str(view_port),
        "IP_INTAKE_URL": f"http://127.0.0.1:{intake_port}",
        **view_reader_env(stack),
        "IP_AGENCY_MAX_BATCH": "50",  # many transactions, so that the kill lands between two
    }
    children = Processes(
        intake=platform_child(stack, "services.intake", env, tmp_path),
        relay=platform_child(stack, "services.chassis.relay", env, tmp_path),
        view=platform_child(stack, "services.projections.agency_main", env, tmp_path),
        intake_url=f"http://127.0.0.1:{intake_port}",
    )
    yield children
    for child in (children.view, children.relay, children.intake):
        child.stop()


@pytest.fixture
async def view_db(stack: StackInfo) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(stack.database_dsns["proj_aa_mg"])
    try:
        yield conn
    finally:
        await conn.close()


async def applied(view_db: asyncpg.Connection, case_ids: list[UUID]) -> int:
    """The events the view holds of the cases (one row per event id)."""
    total = await view_db.fetchval(
        "SELECT count(*) FROM case_events WHERE case_id = ANY($1::uuid[])", case_ids
    )
    return int(total)


async def register_all(intake_url: str, signed: dict[str, str]) -> list[UUID]:
    """Register the persons, signed by ``signed`` (the Agentur's case worker)."""
    async with httpx.AsyncClient(base_url=intake_url, timeout=30, headers=signed) as client:

        async def one(n: int) -> UUID:
            case_id = (await client.post("/cases", json=person(n))).json()["case_id"]
            contact = await client.post(
                f"/cases/{case_id}/first-contact", json={"contacted_on": "2016-04-11"}
            )
            assert contact.status_code == 201, contact.text
            return UUID(case_id)

        case_ids: list[UUID] = []
        for start in range(0, PERSONS, 25):
            case_ids += await asyncio.gather(*(one(n) for n in range(start, start + 25)))
        return case_ids


async def until(condition: Callable[[], Awaitable[bool]], what: str, within: float = 120.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if await condition():
            return
        await asyncio.sleep(0.02)
    raise TimeoutError(what)


async def topic_ends(stack: StackInfo) -> dict[int, int]:
    bounds = await topic_bounds(stack.kafka, [TOPIC])
    assert bounds, "the intake topic has partitions"
    return {tp.partition: end for tp, (_, end) in bounds.items()}


async def test_view_is_exact_after_sigkill_and_restart(
    stack: StackInfo,
    processes: Processes,
    view_db: asyncpg.Connection,
) -> None:
    """SIGKILL mid catch-up, restart: each case shows exactly its two events, and a relay
    that publishes rows again changes nothing in the view."""
    intake_url = processes.intake_url
    processes.intake.start()
    processes.relay.start()
    await wait_for(f"{intake_url}/health")
    case_ids = await register_all(intake_url, bearer(stack, "anna.aa", purpose=None))
    intake_db = await asyncpg.connect(stack.database_dsns["intake"])
    try:
        await until(lambda: _no_unsent(intake_db), "the relay did not drain the outbox", within=60)
        total = 2 * PERSONS

        processes.view.start()
        await until(lambda: _some_applied(view_db, case_ids), "the view applied nothing")
        processes.view.kill()
        applied_at_kill = await applied(view_db, case_ids)

        processes.view.start()
        await until(lambda: _all_applied(view_db, case_ids, total), "the view did not catch up")

        # The relay publishes 100 rows again, as after a crash between publish and mark.
        await intake_db.execute(
            "UPDATE outbox SET sent_at = NULL WHERE position IN"
            " (SELECT position FROM outbox ORDER BY position DESC LIMIT 100)"
        )
        await until(lambda: _no_unsent(intake_db), "the relay did not publish again", within=60)
        ends = await topic_ends(stack)
        await until(lambda: _positions_reached(view_db, ends), "the view did not reach the end")
    finally:
        await intake_db.close()

    assert 0 < applied_at_kill < total, "the kill should land in the middle of the catch-up"
    rows = await view_db.fetch(
        "SELECT case_id, type, data->>'given_name' AS given_name,"
        " data->>'contacted_on' AS contacted_on FROM case_events"
        " WHERE case_id = ANY($1::uuid[])",
        case_ids,
    )
    by_case: dict[UUID, list[str]] = {}
    for r in rows:
        by_case.setdefault(r["case_id"], []).append(r["type"])
    assert len(by_case) == PERSONS
    assert {tuple(sorted(types)) for types in by_case.values()} == {
        ("intake.first_contact_made", "intake.person_registered")
    }
    names = {r["case_id"]: r["given_name"] for r in rows if r["given_name"]}
    assert names[case_ids[0]] == "Person0"
    assert names[case_ids[-1]] == f"Person{PERSONS - 1}"
    assert {r["contacted_on"] for r in rows if r["contacted_on"]} == {"2016-04-11"}
    # Each event was disclosed (logged) once, duplicates and the crash notwithstanding.
    logged = await view_db.fetchval(
        "SELECT count(*) FROM disclosures WHERE case_id = ANY($1::uuid[])", case_ids
    )
    assert logged == total


async def _no_unsent(intake_db: asyncpg.Connection) -> bool:
    return bool(await intake_db.fetchval("SELECT count(*) = 0 FROM outbox WHERE sent_at IS NULL"))


async def _some_applied(view_db: asyncpg.Connection, case_ids: list[UUID]) -> bool:
    try:
        return await applied(view_db, case_ids) > 0
    except asyncpg.UndefinedTableError:
        return False


async def _all_applied(view_db: asyncpg.Connection, case_ids: list[UUID], total: int) -> bool:
    return await applied(view_db, case_ids) >= total


async def _positions_reached(view_db: asyncpg.Connection, ends: dict[int, int]) -> bool:
    rows = await view_db.fetch(
        'SELECT "partition", "offset" FROM projection_positions WHERE topic = $1', TOPIC
    )
    stored = {r["partition"]: r["offset"] for r in rows}
    return all(stored.get(p, -1) >= end - 1 for p, end in ends.items() if end > 0)
