"""Intake's HTTP API on the real PostgreSQL: 201, 422 with field and reason, 409 with the
rule, nothing stored on a refusal; person keys only for authenticated readers."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import pytest

from deploy.local.demo import EXAMPLE_REGISTRATION
from deploy.local.devstack import StackInfo
from services.chassis import clock
from services.intake.app import create_app
from services.intake.settings import IntakeSettings
from tests.conftest import fetch
from tests.identity import bearer, client_bearer, verifying
from tests.tokens import command_client, signed

pytestmark = pytest.mark.postgres

PERSON = EXAMPLE_REGISTRATION


@pytest.fixture
async def api(fresh_dsn: str, stack: StackInfo) -> AsyncIterator[httpx.AsyncClient]:
    settings = IntakeSettings(
        intake_database_url=fresh_dsn,
        **verifying(stack),
        reactions=False,  # HTTP only: no broker needed
    )
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        command_client(app, stack, "http://intake") as client,
    ):
        yield client


async def stored(dsn: str) -> tuple[int, int, int]:
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM events) AS e, (SELECT count(*) FROM outbox) AS o,"
            " (SELECT count(*) FROM person_keys) AS k"
        )
        assert row is not None
        return row["e"], row["o"], row["k"]
    finally:
        await conn.close()


async def test_register_then_first_contact(api: httpx.AsyncClient, fresh_dsn: str) -> None:
    """A registration mints a case id and a key; the first contact appends version 2."""
    registered = await api.post("/cases", json=PERSON)
    case_id = registered.json()["case_id"]
    contacted = await api.post(
        f"/cases/{case_id}/first-contact",
        json={"contacted_on": "2016-02-09", "interpreter_language": "ar"},
    )

    assert registered.status_code == 201
    assert contacted.status_code == 201
    assert contacted.json() == {"case_id": case_id, "version": 2, "replayed": False}
    assert await stored(fresh_dsn) == (2, 2, 1)


async def test_personal_data_is_sealed_in_the_store(api: httpx.AsyncClient, fresh_dsn: str) -> None:
    """Neither the event store nor the outbox holds the name or birth date in plain text."""
    await api.post("/cases", json=PERSON)

    conn = await asyncpg.connect(fresh_dsn)
    try:
        dump = " ".join(
            [
                str(await conn.fetchval("SELECT string_agg(body::text, ' ') FROM events")),
                str(
                    await conn.fetchval(
                        "SELECT string_agg(convert_from(payload, 'UTF8'), ' ') FROM outbox"
                    )
                ),
            ]
        )
    finally:
        await conn.close()
    assert "Amina" not in dump
    assert "Haddad" not in dump
    assert "1989-03-14" not in dump
    assert "Mönchengladbach" in dump  # non-personal facts stay readable


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"site": "XX"}, "site", "Input should be 'MG', 'NE' or 'GV'"),
        ({"nationality": "syria"}, "nationality", "String should match pattern"),
        ({"allocated_on": "yesterday"}, "allocated_on", "Input should be a valid date"),
        ({"given_name": ""}, "given_name", "at least 1 character"),
        ({"town": "Köln"}, "town", "not served by site MG"),
        ({"unexpected": 1}, "unexpected", "Extra inputs are not permitted"),
        ({"family_name": "\u200b\u00a0"}, "family_name", "invisible characters"),
        ({"nationality": "ZZZ"}, "nationality", "no ISO 3166-1 alpha-3 country code"),
        ({"languages": ["ar", "qq"]}, "languages.1", "no ISO 639 language code"),
        ({"date_of_birth": "1899-12-31"}, "date_of_birth", "before 1900"),
        ({"allocated_on": "2999-01-01"}, "allocated_on", "the date lies in the future"),
    ],
)
async def test_bad_input_is_422_with_field_and_reason(
    api: httpx.AsyncClient, fresh_dsn: str, change: dict[str, Any], field: str, reason: str
) -> None:
    """Invalid registrations name the field and the reason, and store nothing."""
    response = await api.post("/cases", json={**PERSON, **change})

    assert response.status_code == 422
    problems = response.json()["detail"]
    assert any(p["field"] == field and reason in p["reason"] for p in problems), problems
    assert await stored(fresh_dsn) == (0, 0, 0)


async def test_edge_values_that_are_valid_pass(api: httpx.AsyncClient) -> None:
    """Born 1900-01-01, allocated today in Germany, Eritrean with Tigrinya, Afghan with Dari."""
    today = clock.today().isoformat()
    for change in (
        {"date_of_birth": "1900-01-01", "allocated_on": today},
        {"nationality": "ERI", "languages": ["ti"]},
        {"nationality": "AFG", "languages": ["fa", "prs"]},
    ):
        response = await api.post("/cases", json={**PERSON, **change})
        assert response.status_code == 201, response.text
    contact = await api.post(
        f"/cases/{response.json()['case_id']}/first-contact", json={"contacted_on": today}
    )
    assert contact.status_code == 201, contact.text


async def test_first_contact_for_unknown_case_is_404_naming_the_rule(
    api: httpx.AsyncClient, fresh_dsn: str
) -> None:
    """A command on a case intake never registered answers 404 with its rule and stores
    nothing, not even a key."""
    response = await api.post(
        "/cases/0192f1a0-7c3e-7a51-9b6e-3f0c2d1e4a55/first-contact",
        json={"contacted_on": "2016-02-09"},
    )

    assert response.status_code == 404
    assert response.json()["rule"] == "case.must_be_registered"
    assert await stored(fresh_dsn) == (0, 0, 0)


async def test_first_contact_before_allocation_is_409(
    api: httpx.AsyncClient, fresh_dsn: str
) -> None:
    """Contact dated before the allocation is refused by its rule; the case keeps one event."""
    case_id = (await api.post("/cases", json=PERSON)).json()["case_id"]

    response = await api.post(
        f"/cases/{case_id}/first-contact", json={"contacted_on": "2016-01-31"}
    )

    assert response.status_code == 409
    assert response.json()["rule"] == "first_contact.not_before_allocation"
    assert await stored(fresh_dsn) == (1, 1, 1)


async def test_idempotency_key_replays_the_registration(
    api: httpx.AsyncClient, fresh_dsn: str
) -> None:
    """The same Idempotency-Key registers once and answers with the same case id."""
    headers = {"Idempotency-Key": "register-amina-0001"}
    first = await api.post("/cases", json=PERSON, headers=headers)
    again = await api.post("/cases", json=PERSON, headers=headers)

    assert first.json()["case_id"] == again.json()["case_id"]
    assert again.json()["replayed"] is True
    assert again.headers["Idempotent-Replayed"] == "true"
    assert (await stored(fresh_dsn))[:2] == (1, 1)


async def test_person_keys_need_a_known_reader(api: httpx.AsyncClient, stack: StackInfo) -> None:
    """No token or a guessed one: 401; a case worker's genuine token: 403 (its client is not
    a key reader); the views' client's own token (client credentials) gets the key."""
    case_id = (await api.post("/cases", json=PERSON)).json()["case_id"]
    path = f"/internal/person-keys/{case_id}"

    api.headers.pop("Authorization")  # the client signs its commands by default
    anonymous = await api.get(path)
    guessed = await api.get(path, headers={"Authorization": "Bearer guess"})
    person = await api.get(path, headers=bearer(stack, "anna.aa"))
    reader = await api.get(path, headers=client_bearer(stack, "ip-view-reader"))

    codes = (anonymous.status_code, guessed.status_code, person.status_code, reader.status_code)
    assert codes == (401, 401, 403, 200)
    assert "ip-cli" in person.json()["detail"]
    assert reader.json()["case_id"] == case_id


async def test_blanket_consent_is_422_naming_the_reason(
    api: httpx.AsyncClient, fresh_dsn: str
) -> None:
    """A consent without purposes is refused as bad input, and nothing is appended."""
    case_id = (await api.post("/cases", json=PERSON)).json()["case_id"]

    response = await api.post(
        f"/cases/{case_id}/consents",
        json={
            "consent_id": "0192f1a0-7c40-7000-8000-000000000001",
            "purposes": [],
            "recipients": [{"agency": "AA-MG"}],
            "data_categories": ["identity"],
            "notice_version": "2016-01",
            "notice_language": "ar",
            "method": "written",
            "given_on": "2016-02-09",
        },
    )

    assert response.status_code == 422
    assert "blanket consent is not allowed" in response.json()["detail"][0]["reason"]
    assert await stored(fresh_dsn) == (1, 1, 1)


async def test_only_the_responsible_agency_changes_the_case_over_http(
    api: httpx.AsyncClient,
    fresh_dsn: str,
    stack: StackInfo,
) -> None:
    """A JC-MG case worker's token on a case of the Agentur answers 403 with the rule;
    nothing stored."""
    case_id = (await api.post("/cases", json=PERSON)).json()["case_id"]

    response = await api.post(
        f"/cases/{case_id}/first-contact",
        json={"contacted_on": "2016-02-09"},
        headers=signed(stack, "JC-MG"),
    )

    assert response.status_code == 403
    assert response.json()["rule"] == "case.only_responsible_agency_changes"
    assert await stored(fresh_dsn) == (1, 1, 1)


async def test_command_outcomes_are_counted(api: httpx.AsyncClient) -> None:
    """/metrics counts accepted, refused (409) and invalid (422) commands by name."""

    def count(text: str, command: str, result: str) -> float:
        prefix = f'ip_commands_total{{command="{command}",result="{result}"}} '
        lines = [line for line in text.splitlines() if line.startswith(prefix)]
        return float(lines[0].removeprefix(prefix)) if lines else 0.0

    before = (await api.get("/metrics")).text
    await api.post("/cases", json=PERSON)
    await api.post("/cases", json={**PERSON, "site": "XX"})
    await api.post(
        "/cases/0192f1a0-7c3e-7a51-9b6e-3f0c2d1e4a55/first-contact",
        json={"contacted_on": "2016-02-09"},
    )
    after = (await api.get("/metrics")).text

    assert (
        count(after, "RegisterPerson", "accepted")
        == count(before, "RegisterPerson", "accepted") + 1
    )
    assert (
        count(after, "RegisterPerson", "invalid") == count(before, "RegisterPerson", "invalid") + 1
    )
    assert count(after, "RecordFirstContact", "refused") == (
        count(before, "RecordFirstContact", "refused") + 1
    )


async def test_a_body_that_is_not_json_is_422_naming_the_body(
    api: httpx.AsyncClient, fresh_dsn: str
) -> None:
    """Unreadable bytes are bad input like any other: 422 with field "body"; nothing stored."""
    response = await api.post(
        "/cases", content=b"{not json", headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "body"
    assert await stored(fresh_dsn) == (0, 0, 0)


async def test_a_nul_character_is_422_naming_the_field(
    api: httpx.AsyncClient, fresh_dsn: str
) -> None:
    """A NUL in any text (PostgreSQL cannot store it) is bad input, not a server error."""
    response = await api.post("/cases", json={**PERSON, "given_name": "Am\u0000ina"})

    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "given_name"
    assert await stored(fresh_dsn) == (0, 0, 0)


async def test_key_rotation_keeps_old_events_sealed_with_their_key(
    api: httpx.AsyncClient, fresh_dsn: str, stack: StackInfo
) -> None:
    """After a rotation the next event names the new key, the registration keeps the old
    one; a reader fetches each by its id; erasure deletes both; nothing was re-encrypted."""
    reader = client_bearer(stack, "ip-view-reader")
    case_id = (await api.post("/cases", json=PERSON)).json()["case_id"]
    first = (await api.get(f"/internal/person-keys/{case_id}", headers=reader)).json()["key_id"]
    before = await _stored_bodies(fresh_dsn)

    rotated = await api.post(f"/cases/{case_id}/key-rotation")
    linked = await api.post(
        f"/cases/{case_id}/identifiers", json={"kind": "bamf_file_number", "value": "8123456-7"}
    )
    contact = await api.post(
        f"/cases/{case_id}/first-contact", json={"contacted_on": "2016-02-09"}
    )  # decided on the history opened with both keys
    bodies = await _stored_bodies(fresh_dsn)
    current = await api.get(f"/internal/person-keys/{case_id}", headers=reader)
    old = await api.get(f"/internal/person-keys/{case_id}?key_id={first}", headers=reader)

    assert (rotated.status_code, linked.status_code, contact.status_code) == (201, 201, 201)
    second = rotated.json()["key_id"]
    assert second != first
    assert bodies[0] == before[0], "the published registration was not re-encrypted"
    assert bodies[0]["data"]["given_name"]["key_id"] == first
    assert bodies[1]["data"]["value"]["key_id"] == second
    assert (current.json()["key_id"], old.json()["key_id"]) == (second, first)
    assert current.json()["secret"] != old.json()["secret"]

    erased = await api.post(
        f"/cases/{case_id}/erasure",
        json={"reason": "Art. 17 DSGVO, geprüft", "erased_on": "2016-09-01"},
    )
    after = [
        (await api.get(f"/internal/person-keys/{case_id}?key_id={k}", headers=reader)).status_code
        for k in (first, second)
    ]
    again = await api.post(f"/cases/{case_id}/key-rotation")

    assert erased.status_code == 201
    assert after == [404, 404]
    assert again.status_code == 409
    assert again.json()["rule"] == "case.erased"
    assert await _secrets_left(fresh_dsn) == 0


async def test_key_rotation_is_refused_for_unknown_cases_and_other_agencies(
    api: httpx.AsyncClient,
    stack: StackInfo,
) -> None:
    """Only the responsible agency rotates, and only a registered case's key."""
    case_id = (await api.post("/cases", json=PERSON)).json()["case_id"]

    unknown = await api.post("/cases/0192f1a0-7c40-7000-8000-00000000abcd/key-rotation")
    other = await api.post(f"/cases/{case_id}/key-rotation", headers=signed(stack, "JC-MG"))

    assert (unknown.status_code, unknown.json()["rule"]) == (404, "case.must_be_registered")
    assert (other.status_code, other.json()["rule"]) == (
        409,
        "case.only_responsible_agency_changes",
    )


async def test_person_keys_table_of_before_rotation_is_migrated(fresh_dsn: str) -> None:
    """A database with one key per person (keyed by case id) keeps its keys and accepts a
    second key for the same person once intake installed its schema."""
    conn = await asyncpg.connect(fresh_dsn)
    try:
        await conn.execute(
            "CREATE TABLE person_keys (case_id uuid PRIMARY KEY, key_id text NOT NULL UNIQUE,"
            " secret bytea, created_at timestamptz NOT NULL DEFAULT now(),"
            " erased_at timestamptz);"
            "INSERT INTO person_keys (case_id, key_id, secret)"
            " VALUES ('0192f1a0-7c40-7000-8000-000000000001', 'old', '\\x01')"
        )
    finally:
        await conn.close()
    settings = IntakeSettings(intake_database_url=fresh_dsn, reactions=False)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        keys = app.state.intake.keys
        case = UUID("0192f1a0-7c40-7000-8000-000000000001")
        rotated = await keys.rotate(case)
        ring = await keys.ring(case)

    assert rotated is not None
    assert [k.key_id for k in ring] == ["old", rotated.key_id]
    assert (await keys_current(fresh_dsn, case)) == rotated.key_id


async def keys_current(dsn: str, case: UUID) -> str:
    sql = "SELECT key_id FROM person_keys WHERE case_id = $1 AND retired_at IS NULL"
    current: str = (await fetch(dsn, sql, case))[0]["key_id"]
    return current


async def _stored_bodies(dsn: str) -> list[dict[str, Any]]:
    rows = await fetch(dsn, "SELECT body::text FROM events ORDER BY position")
    return [json.loads(row["body"]) for row in rows]


async def _secrets_left(dsn: str) -> int:
    return len(await fetch(dsn, "SELECT 1 FROM person_keys WHERE secret IS NOT NULL"))


async def test_ausbildungsduldung_over_http(api: httpx.AsyncClient, fresh_dsn: str) -> None:
    """The Ausländerbehörde records an Ausbildungsduldung: 422 naming ``ausbildung`` without
    the training contract, 201 with it; the SGB II application is then 409 with its rule."""
    case_id = (await api.post("/cases", json=PERSON)).json()["case_id"]
    abh = {"X-Agency": "STADT-MG"}
    status = {
        "status": "ausbildungsduldung",
        "valid_from": "2016-09-01",
        "valid_until": "2019-08-31",
        "stay_since": "2015-12-20",
    }
    training = {
        "ausbildungsbetrieb": "Tischlerei Beispiel GmbH, Mönchengladbach",
        "ausbildungsberuf": "22342",
        "beginnt_am": "2016-09-01",
        "endet_am": "2019-08-31",
    }

    without = await api.post(f"/cases/{case_id}/residence-status", json=status, headers=abh)
    recorded = await api.post(
        f"/cases/{case_id}/residence-status", json={**status, "ausbildung": training}, headers=abh
    )
    sgb2 = await api.post(f"/cases/{case_id}/sgb2-application", json={"applied_on": "2016-09-20"})

    assert without.status_code == 422
    assert [p["field"] for p in without.json()["detail"]] == ["ausbildung"]
    assert recorded.status_code == 201
    assert (sgb2.status_code, sgb2.json()["rule"]) == (409, "sgb2.not_with_ausbildungsduldung")
    assert await stored(fresh_dsn) == (2, 2, 1)
