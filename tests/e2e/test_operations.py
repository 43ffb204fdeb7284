"""What operators rely on, with every process in its own OS process exporting to the real
Zipkin of the test stack: one trace of a hand-over across at least four processes, with
case id, event type and topic on the spans and parent links intact; and logs that carry
ids but never a person's name or birth date."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import pytest

from deploy.local.devstack import StackInfo
from tests.conftest import free_port
from tests.e2e.harness import platform_child, registration, wait_for
from tests.identity import bearer, view_reader_env

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

PERSON = {
    "given_name": "Shirin",
    "family_name": "Rahimzadeh",
    "date_of_birth": "1986-04-23",
    "nationality": "IRN",
    "site": "MG",
    "town": "Mönchengladbach",
    "allocated_on": "2016-03-01",
}


@pytest.fixture
def processes(stack: StackInfo, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """intake, its relay, language, placement and the Agentur view, exporting to Zipkin."""
    assert stack.zipkin_url is not None
    ports = {name: free_port() for name in ("intake", "language", "placement", "view")}
    common = {
        **stack.env(),
        "IP_TRACE_EXPORTER": "zipkin",
        "IP_INTAKE_PORT": str(ports["intake"]),
        "IP_LANGUAGE_PORT": str(ports["language"]),
        "IP_PLACEMENT_PORT": str(ports["placement"]),
        "IP_AGENCY_VIEW": "aa_mg",
        "IP_DB_VIEW": stack.database_dsns["proj_aa_mg"],
        "IP_AGENCY_PORT": str(ports["view"]),
        "IP_INTAKE_URL": f"http://127.0.0.1:{ports['intake']}",
        **view_reader_env(stack),
        "IP_RELAY_DATABASE_URL": stack.database_dsns["intake"],
        "IP_RELAY_NAME": "intake.relay",
    }
    reader = bearer(stack, "anna.aa")  # the Agentur's demo case worker
    children = [
        platform_child(stack, module, common, tmp_path)
        for module in (
            "services.intake",
            "services.chassis.relay",
            "services.language",
            "services.placement",
            "services.projections.agency_main",
        )
    ]
    for child in children:
        child.start()
    yield {"ports": ports, "children": children, "logs": tmp_path, "reader": reader}
    for child in children:
        child.stop()


async def _trace(zipkin: str, trace_id: str, services: set[str]) -> list[dict[str, Any]]:
    """The trace's spans, once spans of each of ``services`` have arrived (the view, which
    may read a case's history before it commits, can come last)."""
    async with httpx.AsyncClient(timeout=5) as client:
        for _ in range(300):
            answer = await client.get(f"{zipkin}/api/v2/trace/{trace_id}")
            if answer.status_code == 200:
                spans: list[dict[str, Any]] = answer.json()
                if {s["localEndpoint"]["serviceName"] for s in spans} >= services:
                    await asyncio.sleep(1.0)  # late spans of the same processes
                    final: list[dict[str, Any]] = (
                        await client.get(f"{zipkin}/api/v2/trace/{trace_id}")
                    ).json()
                    return final
            await asyncio.sleep(0.2)
    raise AssertionError(f"trace {trace_id} never spanned {sorted(services)}")


def _one(spans: list[dict[str, Any]], service: str, name_start: str) -> dict[str, Any]:
    found = [
        s
        for s in spans
        # Zipkin stores span names in lower case.
        if s["localEndpoint"]["serviceName"] == service
        and s["name"].startswith(name_start.lower())
        and s.get("tags", {}).get("ip.event_type", "intake.hand_over_accepted")
        == "intake.hand_over_accepted"
    ]
    assert len(found) == 1, sorted((s["localEndpoint"]["serviceName"], s["name"]) for s in spans)
    return found[0]


async def test_a_hand_over_is_one_trace_across_four_processes(
    stack: StackInfo, processes: dict[str, Any]
) -> None:
    """Accepting a hand-over: intake's HTTP and append spans, the relay's publish, the
    reactions in language and placement and the view's projection share one trace, each
    tagged with case, event type and topic, each the child of the step before."""
    ports = processes["ports"]
    intake = f"http://127.0.0.1:{ports['intake']}"
    for name in ("intake", "language", "placement", "view"):
        await wait_for(f"http://127.0.0.1:{ports[name]}/health")
    signed = bearer(stack, "anna.aa", purpose=None)  # the Agentur's case worker
    async with httpx.AsyncClient(base_url=intake, timeout=10, headers=signed) as client:
        case = (await client.post("/cases", json=PERSON)).json()["case_id"]
        for path, body in (
            ("identifiers", {"kind": "bamf_file_number", "value": "7012345-423"}),
            (
                "residence-status",
                {
                    "status": "aufenthaltsgestattung",
                    "valid_from": "2016-03-01",
                    "stay_since": "2016-02-20",
                },
            ),
            ("asylum-decision", {"outcome": "fluechtlingseigenschaft", "decided_on": "2016-07-01"}),
            ("sgb2-application", {"applied_on": "2016-07-10"}),
        ):
            assert (await client.post(f"/cases/{case}/{path}", json=body)).status_code == 201
        requested = [
            line
            for line in processes["children"][0].log_text().splitlines()
            if '"command": "RecordSgbIIApplication"' in line
        ]
        assert requested
        handover = await _pending_handover(stack, case)
        trace_id = secrets.token_hex(16)
        accepted = await client.post(
            f"/cases/{case}/hand-overs/acceptance",
            json={"handover_id": handover, "accepted_on": "2016-07-15"},
            headers={
                **bearer(stack, "jonas.jcmg", purpose=None),  # the receiving Jobcenter
                "traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01",
            },
        )
        assert accepted.status_code == 201

    traced = {"intake", "intake.relay", "language", "projection.aa_mg"}
    spans = await _trace(stack.zipkin_url or "", trace_id, traced)

    by_id = {s["id"]: s for s in spans}
    http = _one(spans, "intake", "POST")
    append = _one(spans, "intake", "append")
    publish = _one(spans, "intake.relay", "publish")
    project = _one(spans, "projection.aa_mg", "project")
    react = _one(spans, "language", "react language.hand-over")
    assert {s["localEndpoint"]["serviceName"] for s in spans} >= traced
    assert append["parentId"] in by_id
    assert _descends(append, http, by_id)
    assert publish["parentId"] == append["id"]
    assert project["parentId"] == publish["id"]
    assert react["parentId"] == publish["id"]
    for span in (publish, project, react):
        assert span["tags"]["ip.case_id"] == case
        assert span["tags"]["ip.event_type"] == "intake.hand_over_accepted"
        assert span["tags"]["messaging.destination.name"] == "ip.intake.case.v1"
    assert all(s.get("parentId") in by_id for s in spans if s is not _root(spans))


def _root(spans: list[dict[str, Any]]) -> dict[str, Any] | None:
    ids = {s["id"] for s in spans}
    roots = [s for s in spans if s.get("parentId") not in ids]
    return roots[0] if len(roots) == 1 else None


def _descends(span: dict[str, Any], ancestor: dict[str, Any], by_id: dict[str, Any]) -> bool:
    parent = span.get("parentId")
    while parent is not None:
        if parent == ancestor["id"]:
            return True
        parent = by_id.get(parent, {}).get("parentId")
    return False


async def _pending_handover(stack: StackInfo, case: str) -> str:
    conn = await asyncpg.connect(stack.database_dsns["intake"])
    try:
        body = await conn.fetchval(
            "SELECT body::text FROM events WHERE stream_id = $1 AND type = $2",
            UUID(case),
            "intake.hand_over_requested",
        )
    finally:
        await conn.close()
    handover: str = json.loads(body)["data"]["handover_id"]
    return handover


async def test_logs_carry_ids_but_no_personal_data(
    stack: StackInfo, processes: dict[str, Any]
) -> None:
    """After a registration flows through every process, the logs name the case and event
    ids, and nowhere the person's name or birth date."""
    ports = processes["ports"]
    await wait_for(f"http://127.0.0.1:{ports['intake']}/health")
    await wait_for(f"http://127.0.0.1:{ports['view']}/health")
    async with httpx.AsyncClient(timeout=10) as client:
        registered = await client.post(
            f"http://127.0.0.1:{ports['intake']}/cases",
            json=PERSON,
            headers=bearer(stack, "anna.aa", purpose=None),
        )
        case = registered.json()["case_id"]
        for _ in range(300):
            seen = await client.get(
                f"http://127.0.0.1:{ports['view']}/cases/{case}", headers=processes["reader"]
            )
            if seen.status_code == 200:
                break
            await asyncio.sleep(0.1)
    person = registration(seen.json())
    assert person is not None
    assert person["given_name"] == PERSON["given_name"]  # the view may show it

    logs = "\n".join(child.log_text() for child in processes["children"])
    assert case in logs
    assert '"event": "event.projected"' in logs
    for secret in (PERSON["given_name"], PERSON["family_name"], PERSON["date_of_birth"]):
        assert secret not in logs
    assert PERSON["family_name"].lower() not in logs.lower()
