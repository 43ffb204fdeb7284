"""Recognition's HTTP API on the real PostgreSQL: 201 through a whole procedure, 422 with
field and reason, 409 with the rule, and nothing stored on a refusal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from contracts.recognition import recognition_codec
from deploy.local.devstack import StackInfo
from services.recognition.app import create_app
from services.recognition.settings import RecognitionSettings
from tests.identity import verifying
from tests.integration.stores import stored
from tests.tokens import command_client

pytestmark = pytest.mark.postgres

CASE = "0192f1a0-7c3e-7a51-9b6e-3f0c2d1e4a55"
PROC = "0192f1a0-9d00-7000-8000-00000000e002"
MEASURE = "0192f1a0-9d00-7000-8000-00000000a001"

ELECTRICIAN: list[tuple[str, dict[str, Any]]] = [
    (
        "counselling",
        {
            "qualification_kind": "berufsabschluss",
            "qualification_title": "Elektriker",
            "country": "IRQ",
            "counselled_by": "iq_beratung",
            "held_on": "2016-03-01",
        },
    ),
    (
        "reference-occupation",
        {"kldb": "26212", "title": "Elektroniker/in", "regulated": False, "bereich": "handwerk"},
    ),
    ("competent-authority", {"authority": "hwk_duesseldorf"}),
    ("application", {"submitted_on": "2016-04-01"}),
    (
        "decision",
        {
            "outcome": "teilweise_gleichwertigkeit",
            "missing_competences": ["Installation nach VDE 0100"],
            "legal_basis": "bqfg",
            "decided_on": "2016-09-12",
        },
    ),
    (
        "adaptation-start",
        {"measure_id": MEASURE, "provider": "Elektro Schmitz GmbH", "started_on": "2016-10-04"},
    ),
    ("adaptation-completion", {"measure_id": MEASURE, "completed_on": "2017-03-31"}),
    (
        "decision",
        {"outcome": "volle_gleichwertigkeit", "legal_basis": "bqfg", "decided_on": "2017-04-20"},
    ),
]


@pytest.fixture
async def api(fresh_dsn: str, stack: StackInfo) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        RecognitionSettings(recognition_database_url=fresh_dsn, reactions=False, **verifying(stack))
    )
    client = command_client(app, stack, "http://recognition", known_cases_dsn=fresh_dsn)
    async with app.router.lifespan_context(app), client:
        yield client


async def post(
    api: httpx.AsyncClient, step: str, body: dict[str, Any], **kw: Any
) -> httpx.Response:
    return await api.post(f"/cases/{CASE}/{step}", json={"procedure_id": PROC, **body}, **kw)


async def test_electrician_procedure_to_full_recognition(
    api: httpx.AsyncClient, fresh_dsn: str
) -> None:
    """Each step answers 201 with the next version; the outbox carries every event."""
    responses = [await post(api, step, body) for step, body in ELECTRICIAN]

    assert [r.status_code for r in responses] == [201] * len(ELECTRICIAN)
    assert [r.json()["version"] for r in responses] == list(range(1, len(ELECTRICIAN) + 1))
    assert responses[-1].json() == {"case_id": CASE, "version": 8, "replayed": False}
    assert await stored(fresh_dsn) == (8, 8)


async def test_outbox_carries_the_self_contained_bescheid(
    api: httpx.AsyncClient, fresh_dsn: str
) -> None:
    """The published Bescheid names authority, Referenzberuf, outcome and legal basis."""
    for step, body in ELECTRICIAN[:5]:
        await post(api, step, body)

    conn = await asyncpg.connect(fresh_dsn)
    try:
        payload = await conn.fetchval("SELECT payload FROM outbox ORDER BY position DESC LIMIT 1")
    finally:
        await conn.close()
    bescheid = recognition_codec.parse(bytes(payload)).data
    assert bescheid.model_dump(mode="json", exclude={"procedure_id"}) == {
        "type": "recognition.decision_issued",
        "schema_version": 2,
        "authority": "hwk_duesseldorf",
        "reference_occupation": "26212",
        "outcome": "teilweise_gleichwertigkeit",
        "missing_competences": ["Installation nach VDE 0100"],
        "legal_basis": "bqfg",
        "decided_on": "2016-09-12",
    }


@pytest.mark.parametrize(
    ("step", "body", "field", "reason"),
    [
        (
            "document-request",
            {"documents": ["Zeugnis"], "requested_on": "2016-04-04", "due_on": "2016-04-04"},
            "due_on",
            "due_on must lie after requested_on",
        ),
        (
            "decision",
            {
                "outcome": "teilweise_gleichwertigkeit",
                "legal_basis": "bqfg",
                "decided_on": "2016-09-12",
            },
            "missing_competences",
            "must list the missing competences",
        ),
        (
            "protected-title",
            {"title": "ingenieur", "authority": "ihk_fosa", "granted_on": "2016-08-15"},
            "authority",
            "only bezirksregierung_duesseldorf permits the title ingenieur",
        ),
        (
            "reference-occupation",
            {"kldb": "2621", "title": "Elektroniker/in", "regulated": False, "bereich": "handwerk"},
            "kldb",
            "String should match pattern",
        ),
        ("competent-authority", {"authority": "ihk"}, "authority", "Input should be"),
        ("application", {"submitted_on": "soon"}, "submitted_on", "valid date"),
        ("application", {"submitted_on": "2016-04-01", "x": 1}, "x", "Extra inputs"),
    ],
)
async def test_bad_input_is_422_with_field_and_reason(
    api: httpx.AsyncClient,
    fresh_dsn: str,
    *,
    step: str,
    body: dict[str, Any],
    field: str,
    reason: str,
) -> None:
    """Invalid commands name the field and the reason, and store nothing."""
    await post(api, *ELECTRICIAN[0])

    response = await post(api, step, body)

    assert response.status_code == 422
    problems = response.json()["detail"]
    assert any(p["field"] == field and reason in p["reason"] for p in problems), problems
    assert await stored(fresh_dsn) == (1, 1)


async def test_wrong_authority_is_409_naming_the_rule(
    api: httpx.AsyncClient, fresh_dsn: str
) -> None:
    """A craft goes to the HWK: IHK FOSA is refused by its rule, and nothing is stored."""
    for step, body in ELECTRICIAN[:2]:
        await post(api, step, body)

    response = await post(api, "competent-authority", {"authority": "ihk_fosa"})

    assert response.status_code == 409
    assert response.json()["rule"] == "authority.craft_to_hwk"
    assert "hwk_duesseldorf" in response.json()["detail"]
    assert await stored(fresh_dsn) == (2, 2)


async def test_step_on_an_unknown_procedure_is_409(api: httpx.AsyncClient, fresh_dsn: str) -> None:
    """Without counselling there is no procedure: 409 and an empty store."""
    response = await post(api, "application", {"submitted_on": "2016-04-01"})

    assert response.status_code == 409
    assert response.json()["rule"] == "procedure.unknown"
    assert await stored(fresh_dsn) == (0, 0)


async def test_idempotency_key_replays_the_decision(api: httpx.AsyncClient, fresh_dsn: str) -> None:
    """The same Idempotency-Key records the Bescheid once and answers with its version."""
    for step, body in ELECTRICIAN[:4]:
        await post(api, step, body)
    headers = {"Idempotency-Key": "bescheid-hwk-2016-09-12"}

    first = await post(api, *ELECTRICIAN[4], headers=headers)
    again = await post(api, *ELECTRICIAN[4], headers=headers)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == {"case_id": CASE, "version": 5, "replayed": True}
    assert await stored(fresh_dsn) == (5, 5)


async def test_competence_assessment_on_the_case(api: httpx.AsyncClient, fresh_dsn: str) -> None:
    """An assessment needs no procedure and opens the case's stream by itself."""
    response = await api.post(
        f"/cases/{CASE}/competence-assessment",
        json={
            "assessment_id": MEASURE,
            "method": "myskills",
            "occupation": "26212",
            "result_summary": "Elektroinstallation: hohe Handlungskompetenz",
            "assessed_on": "2016-05-18",
        },
    )

    assert response.status_code == 201
    assert await stored(fresh_dsn) == (1, 1)
