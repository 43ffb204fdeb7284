"""Schemathesis against every service's OpenAPI, in-process on the real PostgreSQL: no
generated request gets a 5xx, and a 4xx leaves the service's database exactly as it was."""

from __future__ import annotations

import asyncio
import json
import math
import time
import traceback
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Err

from contracts.common import TOWNS_BY_SITE, Site
from contracts.envelope import Agency
from contracts.intake import ResidenceStatus
from deploy.local.demo import EXAMPLE_REGISTRATION
from deploy.local.devstack import StackInfo
from services.chassis.eventstore import CommandContext
from services.intake.app import create_app as intake_app
from services.intake.settings import IntakeSettings
from services.language.app import create_app as language_app
from services.language.settings import LanguageSettings
from services.placement.app import create_app as placement_app
from services.placement.commands import NoteResidenceFacts, ResidenceDocument
from services.placement.handlers import handle as placement_handle
from services.placement.settings import PlacementSettings
from services.recognition.app import create_app as recognition_app
from services.recognition.settings import RecognitionSettings
from tests.identity import verifying
from tests.tokens import command_client, know_case, signed

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

CASES_PER_API = (
    1050  # the issue asks for at least 1,000; a little more for what one mode cannot vary
)
BASE_URL = "http://api"
# Reproduction commands keep the Idempotency-Key and Authorization values they were sent with.
UNSANITIZED = schemathesis.Config.from_dict({"output": {"sanitization": {"enabled": False}}})
T = TypeVar("T")


async def _intake_case(_: FastAPI, api: httpx.AsyncClient, __: str) -> UUID:
    registered = await api.post("/cases", json=EXAMPLE_REGISTRATION)
    assert registered.status_code == 201, registered.text
    return UUID(registered.json()["case_id"])


async def _language_case(_: FastAPI, api: httpx.AsyncClient, dsn: str) -> UUID:
    case_id = uuid4()
    await know_case(dsn, case_id, responsible="JC-MG")
    entitlement = {
        "entitlement_id": str(uuid4()),
        "course_type": "integrationskurs",
        "kind": "verpflichtung",
        "issuer": "jobcenter",
        "issuing_agency": "JC-MG",
        "issued_on": "2016-03-01",
    }
    issued = await api.post(f"/cases/{case_id}/entitlements", json=entitlement)
    assert issued.status_code == 201, issued.text
    return case_id


async def _recognition_case(_: FastAPI, api: httpx.AsyncClient, dsn: str) -> UUID:
    case_id = uuid4()
    await know_case(dsn, case_id)
    counselling = {
        "procedure_id": str(uuid4()),
        "qualification_kind": "berufsabschluss",
        "qualification_title": "Elektriker",
        "country": "IRQ",
        "counselled_by": "iq_beratung",
        "held_on": "2016-03-01",
    }
    counselled = await api.post(f"/cases/{case_id}/counselling", json=counselling)
    assert counselled.status_code == 201, counselled.text
    return case_id


async def _placement_case(app: FastAPI, _: httpx.AsyncClient, dsn: str) -> UUID:
    case_id = uuid4()
    await know_case(dsn, case_id)
    facts = NoteResidenceFacts(
        source_event_id=uuid4(),
        nationality="IRQ",
        document=ResidenceDocument(
            status=ResidenceStatus.AUFENTHALTSGESTATTUNG,
            stay_since=date(2016, 4, 4),
            valid_until=date(2016, 10, 3),
        ),
    )
    context = CommandContext(str(uuid4()), Agency.AA_MG, uuid4())
    await placement_handle(case_id, facts, context, app.state.placement)
    return case_id


@dataclass(frozen=True)
class Api:
    """One service under test: how to build its app, what it stores, one case that exists."""

    name: str
    create: Callable[[str, dict[str, Any]], FastAPI]  # the database, the provider's settings
    tables: tuple[str, ...]
    known_case: Callable[[FastAPI, httpx.AsyncClient, str], Awaitable[UUID]]
    agency: str = "AA-MG"  # whose case worker sends the requests


COMMAND_TABLES = ("events", "outbox", "handled_commands")
APIS = [
    Api(
        "intake",
        lambda dsn, oidc: intake_app(
            IntakeSettings(intake_database_url=dsn, reactions=False, **oidc)
        ),
        (*COMMAND_TABLES, "person_keys"),
        _intake_case,
    ),
    Api(
        "language",
        lambda dsn, oidc: language_app(
            LanguageSettings(language_database_url=dsn, reactions=False, **oidc),
        ),
        COMMAND_TABLES,
        _language_case,
        "JC-MG",
    ),
    Api(
        "recognition",
        lambda dsn, oidc: recognition_app(
            RecognitionSettings(recognition_database_url=dsn, reactions=False, **oidc),
        ),
        COMMAND_TABLES,
        _recognition_case,
    ),
    Api(
        "placement",
        lambda dsn, oidc: placement_app(
            PlacementSettings(placement_database_url=dsn, reactions=False, **oidc),
        ),
        COMMAND_TABLES,
        _placement_case,
    ),
]


@dataclass
class Tally:
    """What the generated requests met."""

    cases: int = 0
    unsendable: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    accepted: int = 0  # 201 that stored something (not replayed)
    findings: list[str] = field(default_factory=list)


def steer_towards_valid(case: Case[Any], known_case: UUID) -> None:
    """Aim a generated case at what JSON Schema cannot say: a case that exists, and (intake's
    registration) a town its site serves. Only some positive cases, so the rules get past
    validation into the deciders too."""
    if "case_id" in (case.path_parameters or {}):
        case.path_parameters = {**(case.path_parameters or {}), "case_id": str(known_case)}
    body = case.body
    site = body.get("site") if isinstance(body, dict) else None
    if case.path == "/cases" and isinstance(body, dict) and site in set(Site):
        case.body = {**body, "town": sorted(TOWNS_BY_SITE[Site(str(site))])[0]}


def to_request(case: Case[Any]) -> httpx.Request | None:
    """The httpx request schemathesis would send, or None when it cannot go on the wire."""
    kwargs = case.as_transport_kwargs(base_url=BASE_URL)
    headers = [
        (name.encode("latin-1"), str(value).encode("latin-1"))
        for name, value in kwargs.get("headers", {}).items()
    ]
    if kwargs.get("cookies"):
        cookie = "; ".join(f"{name}={value}" for name, value in kwargs["cookies"].items())
        headers.append((b"cookie", cookie.encode("latin-1")))
    content: bytes | None = None
    if "json" in kwargs:
        content = json.dumps(kwargs["json"], allow_nan=False).encode()
    elif isinstance(kwargs.get("data"), bytes | str):
        data = kwargs["data"]
        content = data.encode() if isinstance(data, str) else data
    elif kwargs.get("data") is not None:
        return None  # form bodies: none of the APIs declares one
    return httpx.Request(
        kwargs["method"],
        kwargs["url"],
        params=kwargs.get("params"),
        headers=headers,
        content=content,
    )


async def stored(conn: asyncpg.Connection, tables: tuple[str, ...]) -> tuple[int, ...]:
    selects = ", ".join(f"(SELECT count(*) FROM {table})" for table in tables)  # noqa: S608
    row = await conn.fetchrow(f"SELECT {selects}")
    assert row is not None
    return tuple(row)


async def exchange(
    case: Case[Any],
    api: httpx.AsyncClient,
    conn: asyncpg.Connection,
    spec: Api,
    tally: Tally,
    *,
    stack: StackInfo,
) -> None:
    """Send one generated case; record a 5xx, or a 4xx that changed what is stored."""
    try:
        request = to_request(case)
    except (ValueError, UnicodeError):
        request = None
    if request is None:
        tally.unsendable += 1
        return
    if "authorization" not in request.headers:
        # Signed in unless the case brings its own (a generated, and so invalid, one).
        request.headers["Authorization"] = signed(stack, spec.agency)["Authorization"]
    tally.cases += 1
    before = await stored(conn, spec.tables)
    try:
        response = await api.send(request)
    except Exception:  # noqa: BLE001 - the app raised: that is the 500 this test looks for
        tally.statuses[500] += 1
        tally.findings.append(
            f"{case.as_curl_command(base_url=BASE_URL)}\n{traceback.format_exc()}"
        )
        return
    after = await stored(conn, spec.tables)
    tally.statuses[response.status_code] += 1
    if response.status_code == 201 and not response.json().get("replayed"):
        tally.accepted += 1
    try:
        case.validate_response(response, checks=[not_a_server_error])
    except FailureGroup as failures:
        tally.findings.append(
            f"{case.as_curl_command(base_url=BASE_URL)}\n{failures}\n{response.text}"
        )
    if 400 <= response.status_code < 500 and after != before:
        change = dict(zip(spec.tables, zip(before, after, strict=True), strict=True))
        tally.findings.append(
            f"{response.status_code} changed the store {change}\n"
            f"{case.as_curl_command(base_url=BASE_URL)}\n{response.text}"
        )


def fuzz(
    schema: schemathesis.BaseSchema,
    send: Callable[[Case[Any]], None],
    known_case: UUID,
    authorization: Callable[[], str],
) -> None:
    """Generate positive and negative cases for every operation (run off the event loop:
    Hypothesis drives a synchronous test body). A positive case carries a genuine token (the
    negative ones what schemathesis makes of the bearer scheme, which must be a 401)."""
    operations = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()
        operations.append(result.ok())
    with_input = [op for op in operations if op.path_parameters or op.body or op.headers]
    per_mode = math.ceil(CASES_PER_API / (2 * len(with_input)))
    for operation in operations:
        # An operation without input (GET /health) has nothing to get wrong.
        modes = list(GenerationMode) if operation in with_input else [GenerationMode.POSITIVE]
        for mode in modes:
            positive = mode is GenerationMode.POSITIVE
            steering = st.booleans() if positive else st.just(False)

            @settings(
                max_examples=per_mode,
                derandomize=True,
                database=None,
                deadline=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(
                case=operation.as_strategy(generation_mode=mode),
                steer=steering,
                signed_in=st.just(positive),
            )
            def run(case: Case[Any], steer: bool, signed_in: bool) -> None:
                if steer:
                    steer_towards_valid(case, known_case)
                if signed_in:
                    headers = dict(case.headers or {})
                    headers["Authorization"] = authorization()
                    case.headers = headers  # type: ignore[assignment]  # schemathesis takes a dict
                send(case)

            run()


@pytest.mark.parametrize("spec", APIS, ids=[spec.name for spec in APIS])
async def test_generated_requests_get_no_5xx_and_a_4xx_stores_nothing(
    spec: Api,
    fresh_dsn: str,
    stack: StackInfo,
) -> None:
    """1,000+ schemathesis cases per API: never a 5xx; a 4xx leaves events, outbox, command keys
    (and intake's person keys) untouched."""
    app = spec.create(fresh_dsn, verifying(stack))
    tally = Tally()
    started = time.monotonic()
    async with (
        app.router.lifespan_context(app),
        command_client(app, stack, BASE_URL, agency=spec.agency) as api,
    ):
        known_case = await spec.known_case(app, api, fresh_dsn)
        schema = schemathesis.openapi.from_dict(app.openapi(), config=UNSANITIZED)
        conn = await asyncpg.connect(fresh_dsn)
        loop = asyncio.get_running_loop()

        def on_loop(coroutine: Coroutine[Any, Any, T]) -> T:
            return asyncio.run_coroutine_threadsafe(coroutine, loop).result()

        try:
            await asyncio.to_thread(
                fuzz,
                schema,
                lambda case: on_loop(exchange(case, api, conn, spec, tally, stack=stack)),
                known_case,
                lambda: signed(stack, spec.agency)["Authorization"],
            )
        finally:
            await conn.close()

    print(  # noqa: T201 - the measurement the issue asks for
        f"\n{spec.name}: {tally.cases} cases in {time.monotonic() - started:.1f} s"
        f" ({tally.unsendable} not sendable), statuses {dict(sorted(tally.statuses.items()))},"
        f" {tally.accepted} accepted commands"
    )
    assert not tally.findings, "\n\n".join(tally.findings[:10])
    assert tally.cases >= 1000
    assert tally.accepted > 0, "no generated command got through: only validation was tested"
