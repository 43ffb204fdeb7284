"""Agency views beside the running platform, and the handed-over case they are checked on:
shared by tests/e2e/test_agency_views.py (what each view database holds) and
tests/e2e/test_view_access.py (who may read it)."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AsyncExitStack
from typing import Any
from uuid import uuid4

from deploy.local.devstack import StackInfo
from deploy.local.principals import view_principal
from services.projections.agency_app import create_app
from services.projections.agency_settings import AgencyViewSettings
from services.projections.purpose import ViewId
from tests.conftest import free_port
from tests.e2e.harness import serving
from tests.e2e.platform import Platform, fresh_database
from tests.identity import verifying, view_reader

NAME, OCCUPATION = "Iman", "Bauingenieurin"


async def serve_views(
    stack: StackInfo,
    platform: Platform,
    views: Iterable[ViewId],
    exits: AsyncExitStack,
) -> tuple[dict[ViewId, str], dict[ViewId, str]]:
    """Each view on a fresh database of its own, served until ``exits`` closes, in a consumer
    group of its own; their DSNs and URLs."""
    views = tuple(views)
    dsns = {view: await fresh_database(stack.admin_dsn) for view in views}
    urls: dict[ViewId, str] = {}
    for view in views:
        settings = AgencyViewSettings(
            agency_view=view,
            agency_database_url=dsns[view],
            agency_consumer_group=f"projection.{view.value}.test-{uuid4().hex[:8]}",
            **stack.kafka_settings(view_principal(view)),
            intake_url=platform.urls["intake"],
            **verifying(stack),
            **view_reader(stack),
        )
        urls[view] = await exits.enter_async_context(serving(create_app(settings), free_port()))
    return dsns, urls


async def handed_over_case(platform: Platform) -> tuple[str, str]:
    """A case registered in MG (``NAME``, a civil engineer: ``OCCUPATION``), consented to IQ for
    recognition, handed over to JC-MG; its id and the consent's."""
    case = (
        await platform.command(
            "intake",
            "/cases",
            {
                "given_name": NAME,
                "family_name": "Darwish",
                "date_of_birth": "1990-02-02",
                "nationality": "SYR",
                "site": "MG",
                "town": "Mönchengladbach",
                "allocated_on": "2016-02-01",
            },
        )
    )["case_id"]
    base = f"/cases/{case}"
    consent = str(uuid4())
    steps: list[tuple[str, str, dict[str, Any]]] = [
        ("intake", "identifiers", {"kind": "bamf_file_number", "value": "7012345-423"}),
        (
            "intake",
            "residence-status",
            {
                "status": "aufenthaltsgestattung",
                "valid_from": "2016-02-01",
                "stay_since": "2016-01-20",
            },
        ),
        (
            "intake",
            "consents",
            {
                "consent_id": consent,
                "purposes": ["recognition"],
                "recipients": [{"partner": "iq_counselling"}],
                "data_categories": ["recognition"],
                "notice_version": "2016-01",
                "notice_language": "ar",
                "method": "written",
                "given_on": "2016-02-10",
            },
        ),
        (
            "intake",
            "profile",
            {
                "work_history": [
                    {"country": "SYR", "occupation": OCCUPATION, "kldb": "31104", "from_year": 2012}
                ]
            },
        ),
        ("language", "placement-tests", {"level": "A2", "taken_on": "2016-02-20"}),
        (
            "recognition",
            "counselling",
            {
                "procedure_id": str(uuid4()),
                "qualification_kind": "hochschulabschluss",
                "qualification_title": "Bauingenieurwesen",
                "country": "SYR",
                "counselled_by": "iq_beratung",
                "held_on": "2016-03-01",
            },
        ),
        (
            "intake",
            "asylum-decision",
            {"outcome": "fluechtlingseigenschaft", "decided_on": "2016-06-01"},
        ),
        ("intake", "sgb2-application", {"applied_on": "2016-06-10"}),
    ]
    for service, path, body in steps:
        await platform.command(service, f"{base}/{path}", body)
    await accept_pending_hand_over(platform, case, "JC-MG", "2016-06-15")
    return case, consent


async def accept_pending_hand_over(
    platform: Platform, case: str, receiver: str, accepted_on: str
) -> None:
    """The receiving agency accepts the case's latest requested hand-over."""
    requested = [
        e
        for e in await platform.stored("intake", case)
        if e["type"] == "intake.hand_over_requested"
    ][-1]["data"]
    await platform.command(
        "intake",
        f"/cases/{case}/hand-overs/acceptance",
        {"handover_id": requested["handover_id"], "accepted_on": accepted_on},
        agency=receiver,
    )
