"""Placement's HTTP API on the real PostgreSQL: the permission path to a placement answers
201; bad input is 422 naming field and reason; a refused transition is 409 naming the rule;
nothing is stored on either. Its reaction on the real broker takes intake's facts."""

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
from fastapi import FastAPI

from contracts.envelope import Agency
from contracts.intake import TOPIC as INTAKE_TOPIC
from contracts.intake import ResidenceStatus
from deploy.local.demo_users import role_of
from deploy.local.devstack import StackInfo
from deploy.local.principals import relay_principal, service_principal
from services.chassis.eventstore import CommandContext
from services.chassis.relay import create_producer
from services.placement.app import create_app
from services.placement.commands import NoteResidenceFacts, ResidenceDocument
from services.placement.handlers import handle
from services.placement.settings import PlacementSettings
from tests.identity import verifying
from tests.integration.stores import stored
from tests.tokens import command_client, signed

pytestmark = pytest.mark.postgres

REQUEST = "0192f2b0-1d00-7c11-8a3b-5e2f4a6b8e01"
HELPER_JOB_PERMISSION = {
    "request_id": REQUEST,
    "employer": "Elektro Schmitz GmbH, Grevenbroich",
    "job_description": "Elektrohelfer in der Gebäudeinstallation",
    "job_type": "helfer",
    "start_date": "2016-09-19",
    "requested_on": "2016-09-05",
}


@pytest.fixture
async def app(fresh_dsn: str, stack: StackInfo) -> AsyncIterator[FastAPI]:
    settings = PlacementSettings(
        placement_database_url=fresh_dsn, reactions=False, **verifying(stack)
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def api(app: FastAPI, fresh_dsn: str, stack: StackInfo) -> AsyncIterator[httpx.AsyncClient]:
    # The Agentur's case in Neuss: the Rhein-Kreis's ABH decides on work permission.
    client = command_client(
        app, stack, "http://placement", known_cases_dsn=fresh_dsn, known_site="NE"
    )
    async with client:
        yield client


async def told_by_intake(app: FastAPI, stay_since: date = date(2016, 4, 4)) -> str:
    """A new case whose Aufenthaltsgestattung placement noted, as its reaction would."""
    case_id = uuid4()
    command = NoteResidenceFacts(
        source_event_id=uuid4(),
        nationality="IRQ",
        document=ResidenceDocument(
            status=ResidenceStatus.AUFENTHALTSGESTATTUNG,
            stay_since=stay_since,
            valid_until=date(2016, 10, 3),
        ),
    )
    context = CommandContext(str(uuid4()), Agency.AA_MG, uuid4())
    await handle(case_id, command, context, app.state.placement)
    return str(case_id)


async def bodies(dsn: str, case_id: str) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT body FROM events WHERE stream_id = $1 ORDER BY version", UUID(case_id)
        )
        return [json.loads(row["body"]) for row in rows]
    finally:
        await conn.close()


async def test_permission_path_to_a_placement(
    app: FastAPI,
    api: httpx.AsyncClient,
    fresh_dsn: str,
    stack: StackInfo,
) -> None:
    """Request, BA consent, permission, placement: 201 each, decisions under August 2016 rules."""
    case_id = await told_by_intake(app)
    steps: list[tuple[str, dict[str, Any], Agency]] = [
        ("work-permission-requests", HELPER_JOB_PERMISSION, Agency.RKN),
        ("ba-consent-decisions", {"request_id": REQUEST, "granted": True,
                                  "decided_on": "2016-09-12"}, Agency.AA_MG),
        ("permission-decisions", {"request_id": REQUEST, "granted": True,
                                  "valid_until": "2016-10-03", "decided_on": "2016-09-14",
                                  "restrictions": ["nur Elektro Schmitz GmbH"]}, Agency.RKN),
        ("placements", {"placement_id": str(uuid4()), "kind": "beschaeftigung",
                        "skill_level": "helfer", "employer": "Elektro Schmitz GmbH",
                        "kldb": "26301", "started_on": "2016-09-19",
                        "work_permission_request_id": REQUEST}, Agency.AA_MG),
    ]  # fmt: skip

    versions = []
    for path, body, agency in steps:
        response = await api.post(
            f"/cases/{case_id}/{path}",
            json=body,
            headers=signed(stack, agency.value, role_of(agency.value)),
        )
        assert response.status_code == 201, response.json()
        versions.append(response.json()["version"])

    events = await bodies(fresh_dsn, case_id)
    assert versions == [2, 3, 4, 5]
    assert [event["type"] for event in events[1:]] == [
        "placement.work_permission_requested",
        "placement.ba_consent_decided",
        "placement.permission_decided",
        "placement.placement_started",
    ]
    assert events[2]["data"]["vorrangpruefung"] is False
    assert {events[2]["data"]["rule_version"], events[3]["data"]["rule_version"]} == {
        "beschv-2016-08-06"
    }
    assert events[3]["agency"] == "RKN"
    assert events[4]["schema_version"] == 2
    assert await stored(fresh_dsn) == (5, 5)


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"job_type": "koch"}, "job_type", "Input should be 'berufsausbildung'"),
        ({"employer": ""}, "employer", "at least 1 character"),
        ({"start_date": "soon"}, "start_date", "Input should be a valid date"),
        ({"start_date": "2016-09-04"}, "start_date", "start_date lies before requested_on"),
        ({"workplace_district": "Duisburg"}, "workplace_district", "String should match pattern"),
        ({"request_id": "7"}, "request_id", "Input should be a valid UUID"),
        ({"salary": 1500}, "salary", "Extra inputs are not permitted"),
    ],
)
async def test_bad_request_is_422_with_field_and_reason(
    app: FastAPI,
    api: httpx.AsyncClient,
    fresh_dsn: str,
    *,
    change: dict[str, Any],
    field: str,
    reason: str,
) -> None:
    """Invalid requests name the field and the reason, and store nothing."""
    case_id = await told_by_intake(app)

    response = await api.post(
        f"/cases/{case_id}/work-permission-requests", json=HELPER_JOB_PERMISSION | change
    )

    assert response.status_code == 422
    problems = response.json()["detail"]
    assert any(p["field"] == field and reason in p["reason"] for p in problems), problems
    assert await stored(fresh_dsn) == (1, 1)


async def test_request_in_the_waiting_period_is_409_naming_the_rule(
    app: FastAPI,
    api: httpx.AsyncClient,
    fresh_dsn: str,
    stack: StackInfo,
) -> None:
    """A job starting in the third month of the stay is refused by its rule; nothing stored."""
    api.headers.update(signed(stack, "RKN", "abh_case_worker"))  # Neuss's ABH
    case_id = await told_by_intake(app, stay_since=date(2016, 6, 20))

    response = await api.post(
        f"/cases/{case_id}/work-permission-requests", json=HELPER_JOB_PERMISSION
    )

    assert response.status_code == 409
    assert response.json()["rule"] == "eligibility.waiting_period"
    assert "month 3" in response.json()["detail"]
    assert await stored(fresh_dsn) == (1, 1)


async def test_permission_before_ba_consent_is_409(
    app: FastAPI,
    api: httpx.AsyncClient,
    fresh_dsn: str,
    stack: StackInfo,
) -> None:
    """Granting a helper job's permission before the BA consented is refused."""
    api.headers.update(signed(stack, "RKN", "abh_case_worker"))  # Neuss's ABH
    case_id = await told_by_intake(app)
    await api.post(f"/cases/{case_id}/work-permission-requests", json=HELPER_JOB_PERMISSION)

    response = await api.post(
        f"/cases/{case_id}/permission-decisions",
        json={"request_id": REQUEST, "granted": True, "valid_until": "2016-10-03",
              "decided_on": "2016-09-14"},
    )  # fmt: skip

    assert response.status_code == 409
    assert response.json()["rule"] == "permission.needs_ba_consent"
    assert await stored(fresh_dsn) == (2, 2)


async def test_unknown_case_is_404_and_stores_nothing(
    app: FastAPI, fresh_dsn: str, stack: StackInfo
) -> None:
    """A case placement never heard of from intake cannot receive commands: 404."""
    async with command_client(app, stack, "http://placement") as api:  # no stand-in registration
        response = await api.post(
            f"/cases/{uuid4()}/openings",
            json={"opening_id": str(uuid4()), "employer": "Autohaus Neuss", "kldb": "25212",
                  "kind": "ausbildung", "received_on": "2016-08-29"},
        )  # fmt: skip

    assert response.status_code == 404
    assert response.json()["rule"] == "case.unknown"
    assert await stored(fresh_dsn) == (0, 0)


async def test_an_idempotency_key_reused_with_another_body_is_422(
    app: FastAPI,
    api: httpx.AsyncClient,
    fresh_dsn: str,
    stack: StackInfo,
) -> None:
    """A key sent again with another body is refused naming the key; nothing is stored, and
    the first request still replays as before."""
    api.headers.update(signed(stack, "RKN", "abh_case_worker"))
    case_id = await told_by_intake(app)
    path = f"/cases/{case_id}/work-permission-requests"
    headers = {"Idempotency-Key": "request-elektro-schmitz-0002"}
    first = await api.post(path, json=HELPER_JOB_PERMISSION, headers=headers)

    other = await api.post(
        path, json={**HELPER_JOB_PERMISSION, "employer": "Autohaus Neuss"}, headers=headers
    )
    again = await api.post(path, json=HELPER_JOB_PERMISSION, headers=headers)

    assert (first.status_code, other.status_code, again.status_code) == (201, 422, 201)
    assert other.json()["detail"][0]["field"] == "Idempotency-Key"
    assert "another request" in other.json()["detail"][0]["reason"]
    assert again.json()["replayed"] is True
    assert await stored(fresh_dsn) == (2, 2)


async def test_idempotency_key_replays_the_request(
    app: FastAPI,
    api: httpx.AsyncClient,
    fresh_dsn: str,
    stack: StackInfo,
) -> None:
    """The same Idempotency-Key requests once and answers with the same version."""
    api.headers.update(signed(stack, "RKN", "abh_case_worker"))  # Neuss's ABH
    case_id = await told_by_intake(app)
    path = f"/cases/{case_id}/work-permission-requests"
    headers = {"Idempotency-Key": "request-elektro-schmitz-0001"}

    first = await api.post(path, json=HELPER_JOB_PERMISSION, headers=headers)
    again = await api.post(path, json=HELPER_JOB_PERMISSION, headers=headers)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == {"case_id": case_id, "version": 2, "replayed": True}
    assert await stored(fresh_dsn) == (2, 2)


async def test_health(api: httpx.AsyncClient) -> None:
    """The process answers its health probe."""
    assert (await api.get("/health")).json() == {"status": "ok"}


@pytest.mark.kafka
@pytest.mark.slow  # a fresh consumer group first works through intake's whole topic
async def test_intake_residence_status_on_the_broker_enables_a_request(
    stack: StackInfo, fresh_dsn: str
) -> None:
    """Intake's status for an unseen case, on the broker: facts noted, then a request is 201."""
    settings = PlacementSettings(
        placement_database_url=fresh_dsn,
        **verifying(stack),
        **stack.kafka_settings(service_principal("placement")),
    )
    app = create_app(settings)
    case_id = str(uuid4())
    status = {
        "event_id": str(uuid4()), "case_id": case_id, "stream_version": 3,
        "type": "intake.residence_status_recorded", "schema_version": 1,
        "occurred_at": "2016-04-11T08:15:00Z", "agency": "AA-MG",
        "correlation_id": str(uuid4()),
        "data": {"type": "intake.residence_status_recorded", "schema_version": 1,
                 "status": "aufenthaltsgestattung", "valid_from": "2016-04-04",
                 "valid_until": "2016-10-03", "stay_since": "2016-04-04"},
    }  # fmt: skip
    async with (
        app.router.lifespan_context(app),
        command_client(
            app, stack, "http://p", agency="RKN", known_cases_dsn=fresh_dsn, known_site="NE"
        ) as api,
    ):
        producer = create_producer(stack.kafka_as(relay_principal("intake")))  # as intake's relay
        await producer.start()
        try:
            await producer.send_and_wait(
                INTAKE_TOPIC, json.dumps(status).encode(), key=case_id.encode()
            )
        finally:
            await producer.stop()
        for _ in range(1800):
            if await bodies(fresh_dsn, case_id):
                break
            await asyncio.sleep(0.1)

        response = await api.post(
            f"/cases/{case_id}/work-permission-requests", json=HELPER_JOB_PERMISSION
        )

    [noted, requested] = await bodies(fresh_dsn, case_id)
    assert noted["type"] == "placement.residence_facts_noted"
    assert noted["causation_id"] == status["event_id"]
    assert response.status_code == 201
    assert requested["type"] == "placement.work_permission_requested"
