"""The language service's HTTP API on the real PostgreSQL: the whole path answers 201;
bad input is 422 naming field and reason; a refused transition is 409 naming the rule; nothing
is stored on either. Its hand-over reaction on the real broker moves the Agentur's entitlement."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest

from contracts.intake import TOPIC as INTAKE_TOPIC
from contracts.language import language_codec
from deploy.local.devstack import StackInfo
from deploy.local.principals import relay_principal, service_principal
from services.chassis.relay import create_producer
from services.language.app import create_app
from services.language.settings import LanguageSettings
from tests.identity import verifying
from tests.integration.stores import stored
from tests.tokens import command_client, signed

pytestmark = pytest.mark.postgres

ENTITLEMENT = "0192f1a0-9a00-7000-8000-00000000e001"
BERUFSSPRACHKURS = "0192f1a0-9a00-7000-8000-00000000e002"
ENROLMENT = "0192f1a0-9a00-7000-8000-00000000c001"

OBLIGATION = {
    "entitlement_id": ENTITLEMENT,
    "course_type": "integrationskurs",
    "kind": "verpflichtung",
    "issuer": "jobcenter",
    "issuing_agency": "JC-MG",
    "issued_on": "2016-03-01",
}
AGENTUR_BASISMODUL = {
    "entitlement_id": BERUFSSPRACHKURS,
    "course_type": "berufssprachkurs_basis",
    "target_level": "B2",
    "kind": "berechtigung",
    "issuer": "agentur",
    "issuing_agency": "AA-MG",
    "issued_on": "2016-09-01",
}
ENROL = {
    "enrolment_id": ENROLMENT,
    "entitlement_id": ENTITLEMENT,
    "provider": "VHS Mönchengladbach",
    "course_number": "216/30001",
    "modules": ["Basismodul 1", "Basismodul 2"],
    "started_on": "2016-04-04",
}
ATTENDANCE = {
    "enrolment_id": ENROLMENT,
    "month": "2016-04",
    "units_scheduled": 80,
    "units_attended": 76,
}


@pytest.fixture
async def api(stack: StackInfo, fresh_dsn: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = LanguageSettings(
        language_database_url=fresh_dsn,
        **verifying(stack),
        **stack.kafka_settings(service_principal("language")),
    )
    app = create_app(settings)
    # The Jobcenter's case: it obliges to the Integrationskurs and records the course.
    client = command_client(
        app, stack, "http://language", agency="JC-MG", known_cases_dsn=fresh_dsn
    )
    async with app.router.lifespan_context(app), client:
        yield client


async def event_types(dsn: str, case_id: str) -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        bodies = await conn.fetch(
            "SELECT body FROM events WHERE stream_id = $1 ORDER BY version", UUID(case_id)
        )
    finally:
        await conn.close()
    return [language_codec.parse(row["body"]).type for row in bodies]


async def post_all(
    api: httpx.AsyncClient, case_id: str, steps: list[tuple[str, dict[str, Any]]]
) -> list[httpx.Response]:
    return [await api.post(f"/cases/{case_id}/{path}", json=body) for path, body in steps]


async def test_the_whole_language_path_is_201(api: httpx.AsyncClient, fresh_dsn: str) -> None:
    """Entitlement, placement test, enrolment, attendance, exam, end: versions 1 to 6."""
    case_id = str(uuid4())

    responses = await post_all(
        api,
        case_id,
        [
            ("entitlements", OBLIGATION),
            ("placement-tests", {"level": "A1", "taken_on": "2016-03-10"}),
            ("enrolments", ENROL),
            ("attendance", ATTENDANCE),
            (
                "exams",
                {
                    "enrolment_id": ENROLMENT,
                    "exam": "dtz",
                    "result": "B1",
                    "taken_on": "2016-10-20",
                    "certificate_number": "DTZ-2016-10-0042",
                },
            ),
            (
                "enrolments/end",
                {"enrolment_id": ENROLMENT, "outcome": "completed", "ended_on": "2016-10-31"},
            ),
        ],
    )

    assert [r.status_code for r in responses] == [201] * 6, [r.json() for r in responses]
    assert responses[-1].json() == {"case_id": case_id, "version": 6, "replayed": False}
    assert await event_types(fresh_dsn, case_id) == [
        "language.entitlement_issued",
        "language.placement_test_taken",
        "language.enrolment_started",
        "language.attendance_recorded",
        "language.exam_taken",
        "language.enrolment_ended",
    ]
    assert await stored(fresh_dsn) == (6, 6)


BAD_INPUT: list[tuple[str, dict[str, Any], tuple[str, str]]] = [
    (
        "entitlements",
        {**OBLIGATION, "issuer": "agentur", "issuing_agency": "AA-MG"},
        ("issuer", "issued only by abh, bamf, jobcenter"),
    ),
    (
        "entitlements",
        {**OBLIGATION, "issuing_agency": "STADT-MG"},
        ("issuing_agency", "STADT-MG does not act as jobcenter"),
    ),
    (
        "entitlements",
        {**AGENTUR_BASISMODUL, "target_level": "B1"},
        ("target_level", "a Basismodul leads to B2, C1 or C2"),
    ),
    (
        "attendance",
        {**ATTENDANCE, "units_attended": 81},
        ("units_attended", "81 UE attended exceeds the 80 UE scheduled"),
    ),
    ("attendance", {**ATTENDANCE, "month": "2016-4"}, ("month", "String should match pattern")),
    (
        "exams",
        {"enrolment_id": ENROLMENT, "exam": "dtz", "result": "B2", "taken_on": "2016-10-20"},
        ("result", "the dtz certifies only A2, B1"),
    ),
    (
        "enrolments/end",
        {"enrolment_id": ENROLMENT, "outcome": "dropped", "ended_on": "2016-10-31"},
        ("drop_reason", "a dropped enrolment names its reason"),
    ),
    ("enrolments", {**ENROL, "modules": []}, ("modules", "at least 1 item")),
    ("placement-tests", {"level": "D1", "taken_on": "2016-03-10"}, ("level", "Input should be")),
]


@pytest.mark.parametrize(("path", "body", "problem"), BAD_INPUT)
async def test_bad_input_is_422_with_field_and_reason(
    api: httpx.AsyncClient,
    fresh_dsn: str,
    path: str,
    body: dict[str, Any],
    problem: tuple[str, str],
) -> None:
    """Input that is wrong whatever the path says names the field and the reason; no row."""
    response = await api.post(f"/cases/{uuid4()}/{path}", json=body)

    assert response.status_code == 422
    field, reason = problem
    problems = response.json()["detail"]
    assert any(p["field"] == field and reason in p["reason"] for p in problems), problems
    assert await stored(fresh_dsn) == (0, 0)


async def test_enrolment_without_entitlement_is_409_naming_the_rule(
    api: httpx.AsyncClient, fresh_dsn: str
) -> None:
    """An enrolment needs an entitlement of the person; nothing is stored."""
    response = await api.post(f"/cases/{uuid4()}/enrolments", json=ENROL)

    assert response.status_code == 409
    assert response.json()["rule"] == "enrolment.needs_entitlement"
    assert await stored(fresh_dsn) == (0, 0)


async def test_second_attendance_of_a_month_is_409(api: httpx.AsyncClient, fresh_dsn: str) -> None:
    """One attendance record per month: the second is refused and the path keeps three events."""
    case_id = str(uuid4())
    await post_all(
        api,
        case_id,
        [("entitlements", OBLIGATION), ("enrolments", ENROL), ("attendance", ATTENDANCE)],
    )

    response = await api.post(f"/cases/{case_id}/attendance", json=ATTENDANCE)

    assert response.status_code == 409
    assert response.json()["rule"] == "attendance.one_per_month"
    assert "2016-04" in response.json()["detail"]
    assert await stored(fresh_dsn) == (3, 3)


async def test_berufssprachkurs_at_a2_is_409(
    api: httpx.AsyncClient, fresh_dsn: str, stack: StackInfo
) -> None:
    """Without B1 or a completed Integrationskurs, no Berufssprachkurs starts."""
    api.headers.update(signed(stack, "AA-MG"))  # the Agentur's case
    case_id = str(uuid4())
    await post_all(
        api,
        case_id,
        [("placement-tests", {"level": "A2", "taken_on": "2016-08-15"}),
         ("entitlements", AGENTUR_BASISMODUL)],
    )  # fmt: skip

    response = await api.post(
        f"/cases/{case_id}/enrolments",
        json={**ENROL, "entitlement_id": BERUFSSPRACHKURS, "started_on": "2016-10-04"},
    )

    assert response.status_code == 409
    assert response.json()["rule"] == "enrolment.berufssprachkurs_needs_b1"
    assert await stored(fresh_dsn) == (2, 2)


async def test_issuer_change_has_no_http_route(api: httpx.AsyncClient) -> None:
    """Only the hand-over reaction records an issuer change: the API offers no such command."""
    paths = (await api.get("/openapi.json")).json()["paths"]

    assert sorted(paths) == [
        "/cases/{case_id}/attendance",
        "/cases/{case_id}/enrolments",
        "/cases/{case_id}/enrolments/end",
        "/cases/{case_id}/entitlements",
        "/cases/{case_id}/exams",
        "/cases/{case_id}/placement-tests",
        "/health",
    ]


def hand_over_accepted(case_id: str) -> dict[str, Any]:
    accepted = {
        "type": "intake.hand_over_accepted",
        "schema_version": 1,
        "handover_id": str(uuid4()),
        "from_agency": "AA-MG",
        "to_agency": "JC-MG",
        "reason": "rechtskreiswechsel",
        "accepted_on": "2016-11-15",
    }
    return {
        "event_id": str(uuid4()),
        "case_id": case_id,
        "stream_version": 7,
        "type": accepted["type"],
        "schema_version": 1,
        "occurred_at": "2016-11-15T10:00:00Z",
        "agency": "JC-MG",
        "correlation_id": str(uuid4()),
        "data": accepted,
    }


@pytest.mark.kafka
@pytest.mark.slow  # a fresh consumer group first works through intake's whole topic
async def test_hand_over_on_the_broker_moves_the_agenturs_entitlement(
    api: httpx.AsyncClient, stack: StackInfo, fresh_dsn: str
) -> None:
    """HandOverAccepted on intake's topic: the reaction records the issuer change; the
    enrolment on the entitlement stays as it was."""
    api.headers.update(signed(stack, "AA-MG"))  # the Agentur's case
    case_id = str(uuid4())
    await post_all(
        api,
        case_id,
        [("placement-tests", {"level": "B1", "taken_on": "2016-08-15"}),
         ("entitlements", AGENTUR_BASISMODUL),
         ("enrolments", {**ENROL, "entitlement_id": BERUFSSPRACHKURS,
                         "started_on": "2016-10-04"})],
    )  # fmt: skip
    producer = create_producer(stack.kafka_as(relay_principal("intake")))  # as intake's relay
    await producer.start()
    try:
        await producer.send_and_wait(
            INTAKE_TOPIC, json.dumps(hand_over_accepted(case_id)).encode(), key=case_id.encode()
        )
    finally:
        await producer.stop()

    # The reaction commits each message (~130 msg/s here): allow for a backlog on intake's topic.
    for _ in range(1800):
        if len(await event_types(fresh_dsn, case_id)) > 3:
            break
        await asyncio.sleep(0.1)

    assert await event_types(fresh_dsn, case_id) == [
        "language.placement_test_taken",
        "language.entitlement_issued",
        "language.enrolment_started",
        "language.issuer_changed",
    ]
    attendance = await api.post(
        f"/cases/{case_id}/attendance", json={**ATTENDANCE, "month": "2016-11"}
    )
    assert attendance.status_code == 201  # the enrolment runs on under the Jobcenter
