"""HTTP register -> intake store -> outbox relay -> Kafka -> the Agentur view (the generic
agency view for aa_mg), on the real broker and database, with one trace across all of it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import asyncpg
import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from deploy.local.devstack import StackInfo
from deploy.local.principals import relay_principal, service_principal, view_principal
from services.chassis.relay import OutboxRelay, create_producer
from services.intake.app import create_app as create_intake
from services.intake.settings import IntakeSettings
from services.projections.agency_app import create_app as create_view
from services.projections.agency_settings import AgencyViewSettings
from services.projections.purpose import ViewId
from tests.conftest import free_port
from tests.e2e.harness import registration, serving
from tests.e2e.platform import fresh_database
from tests.identity import bearer, verifying, view_reader

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


PERSON = {
    "given_name": "Yonas",
    "family_name": "Tesfaye",
    "date_of_birth": "1997-05-02",
    "nationality": "ERI",
    "languages": ["ti"],
    "site": "NE",
    "town": "Kaarst",
    "allocated_on": "2016-03-01",
}


@dataclass
class System:
    intake: httpx.AsyncClient
    view: httpx.AsyncClient  # with the Agentur's case worker's token
    jobcenter: dict[str, str]  # a JC-MG case worker's Authorization header


@pytest.fixture
async def system(stack: StackInfo) -> AsyncIterator[System]:
    """Intake API, its relay and the Agentur view, in this process on fresh databases."""
    intake_dsn = await fresh_database(stack.admin_dsn)
    view_dsn = await fresh_database(stack.admin_dsn)
    intake_port = free_port()
    intake_app = create_intake(
        IntakeSettings(
            intake_database_url=intake_dsn,
            **stack.kafka_settings(service_principal("intake")),
            **verifying(stack),
        )
    )
    view_app = create_view(
        AgencyViewSettings(
            agency_view=ViewId.AA_MG,
            agency_database_url=view_dsn,
            agency_consumer_group=f"projection.aa_mg.test-{uuid4().hex[:8]}",
            **stack.kafka_settings(view_principal(ViewId.AA_MG)),
            intake_url=f"http://127.0.0.1:{intake_port}",
            **verifying(stack),
            **view_reader(stack),
        )
    )
    stop = asyncio.Event()
    async with serving(intake_app, intake_port) as intake_url:
        relay_pool = await asyncpg.create_pool(intake_dsn, min_size=1, max_size=2)
        producer = create_producer(stack.kafka_as(relay_principal("intake")))
        await producer.start()
        relay = asyncio.create_task(OutboxRelay(relay_pool, producer).run(stop))
        try:
            async with (
                serving(view_app, free_port()) as view_url,
                # Commands as the Agentur's case worker (a token without a purpose).
                httpx.AsyncClient(
                    base_url=intake_url, headers=bearer(stack, "anna.aa", purpose=None)
                ) as intake,
                httpx.AsyncClient(base_url=view_url, headers=bearer(stack, "anna.aa")) as view,
            ):
                yield System(intake, view, bearer(stack, "jonas.jcmg"))
        finally:
            stop.set()
            await relay
            await producer.stop()
            await relay_pool.close()


async def until_visible(view: httpx.AsyncClient, case_id: str, ready: str) -> dict[str, Any]:
    """The case's timeline in the view once it holds an event of type ``ready``."""
    deadline = time.monotonic() + 60.0
    while time.monotonic() < deadline:
        response = await view.get(f"/cases/{case_id}")
        if response.status_code == 200 and ready in {e["type"] for e in response.json()["events"]}:
            body: dict[str, Any] = response.json()
            return body
        await asyncio.sleep(0.1)
    raise TimeoutError(f"case {case_id} did not show {ready} in the view")


async def test_registered_person_shows_in_the_agentur_view(system: System) -> None:
    """A person registered over HTTP appears in the Agentur view, read with an Agentur
    token: personal fields decrypted with the key fetched from intake, then the first
    contact; each event once. A Jobcenter's token is refused."""
    case_id = (await system.intake.post("/cases", json=PERSON)).json()["case_id"]
    contact = await system.intake.post(
        f"/cases/{case_id}/first-contact",
        json={"contacted_on": "2016-03-09", "interpreter_language": "ti"},
    )
    assert contact.status_code == 201

    case = await until_visible(system.view, case_id, "intake.first_contact_made")
    other = await system.view.get(f"/cases/{case_id}", headers=system.jobcenter)

    person = registration(case)
    assert person is not None
    assert (person["given_name"], person["family_name"], person["date_of_birth"]) == (
        "Yonas",
        "Tesfaye",
        "1997-05-02",
    )
    assert (person["site"], person["town"], person["allocated_on"]) == (
        "NE",
        "Kaarst",
        "2016-03-01",
    )
    assert [e["type"] for e in case["events"]] == [
        "intake.person_registered",
        "intake.first_contact_made",
    ]
    assert case["events"][1]["data"]["contacted_on"] == "2016-03-09"
    assert case["events"][1]["data"]["interpreter_language"] == "ti"
    assert other.status_code == 403


def _by_name(spans: tuple[ReadableSpan, ...], name: str, case_id: str) -> ReadableSpan:
    matching = [
        s
        for s in spans
        if s.name == name
        and (s.attributes or {}).get("ip.case_id") == case_id
        and (s.attributes or {}).get("ip.event_type") == "intake.person_registered"
    ]
    assert len(matching) == 1, [s.name for s in spans]
    return matching[0]


def _ancestors(span: ReadableSpan, spans: tuple[ReadableSpan, ...]) -> list[int]:
    by_id = {s.context.span_id: s for s in spans}
    chain: list[int] = []
    parent = span.parent
    while parent is not None:
        chain.append(parent.span_id)
        parent = by_id[parent.span_id].parent if parent.span_id in by_id else None
    return chain


async def test_one_trace_spans_http_append_relay_and_projection(
    system: System, spans: InMemorySpanExporter
) -> None:
    """The registration's HTTP span, the relay's publish span and the projection's span share
    one trace id, each the parent of the next: the context survives the outbox hop."""
    case_id = (await system.intake.post("/cases", json=PERSON)).json()["case_id"]
    await until_visible(system.view, case_id, "intake.person_registered")

    finished = spans.get_finished_spans()
    http = [s for s in finished if s.name == "POST /cases"]
    publish = _by_name(finished, "publish ip.intake.case.v1", case_id)
    project = _by_name(finished, "project ip.intake.case.v1", case_id)

    append = [s for s in finished if s.name == "append ip.intake.case.v1"]
    assert (len(http), len(append)) == (1, 1)
    trace_ids = {span.context.trace_id for span in (http[0], append[0], publish, project)}
    assert len(trace_ids) == 1
    assert http[0].context.span_id in _ancestors(append[0], finished)
    assert publish.parent is not None
    assert publish.parent.span_id == append[0].context.span_id
    assert project.parent is not None
    assert project.parent.span_id == publish.context.span_id
