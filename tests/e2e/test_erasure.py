"""Erasure (DSGVO Art. 17) end to end: after the key is deleted, none of the person's
personal data is readable in any service, view or partner feed database, on any topic (raw
bytes, the dead-letter topic and the partners' topics included), in the logs of the run, nor
in a view rebuilt from the topics; the network partner the person's data was passed on to is
told, and can no longer fetch the keys of what it received."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import date
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest

from contracts.intake import DataCategory, Partner, Purpose
from contracts.partners import Erased, ForwardedEvent, PartnerNotice, partner_message
from contracts.topics import ALL_TOPICS, PARTNER_TOPIC_PREFIX, partner_topic
from deploy.local.devstack import StackInfo
from deploy.local.principals import PARTNER_FEED, view_principal
from services.chassis.kafka import KafkaAccess
from services.chassis.kafka_admin import KafkaAdmin
from services.chassis.offsets import topic_bounds
from services.projections import partners
from services.projections.agency_settings import AgencyViewSettings
from services.projections.forwarding import Subscription
from services.projections.partner_app import create_app as create_feed_app
from services.projections.partner_feed import pseudonym
from services.projections.partner_settings import PartnerFeedSettings
from services.projections.purpose import ViewId
from services.projections.rebuild import rebuild_view
from services.projections.views import create_app
from tests.conftest import free_port, read_topic
from tests.e2e.agency_views import accept_pending_hand_over
from tests.e2e.harness import receive_until, registration, serving
from tests.e2e.partner_keys import PartnerKeys
from tests.e2e.platform import Platform, fresh_database, running_platform
from tests.identity import bearer, client_bearer, provider_of, verifying, view_reader

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

VIEWS = (ViewId.AA_MG, ViewId.JC_MG, ViewId.STEERING)

SECRETS = ("Zeynep", "Kayalioglu", "1992-07-19", "8123456-789", "Herr Brandt")

# The partner the consent names, subscribed to the identity the consent covers.
IQ = Partner.IQ_COUNSELLING
IQ_IDENTITY = Subscription(IQ, Purpose.RECOGNITION, frozenset({DataCategory.IDENTITY}))


@pytest.fixture
async def world(stack: StackInfo) -> AsyncIterator[dict[str, Any]]:
    """The four services, the Agentur's view, the Jobcenter MG's view, steering, and the
    partner feed with IQ subscribed (revoked afterwards: its topic goes)."""
    async with running_platform(stack) as platform, AsyncExitStack() as exits:
        settings = {
            view: AgencyViewSettings(
                agency_view=view,
                agency_database_url=await fresh_database(stack.admin_dsn),
                agency_consumer_group=f"projection.{view.value}.test-erasure.{uuid4().hex[:8]}",
                **stack.kafka_settings(view_principal(view)),
                intake_url=platform.urls["intake"],
                **verifying(stack),
                **view_reader(stack),
            )
            for view in VIEWS
        }
        urls = {
            view: await exits.enter_async_context(serving(create_app(s), free_port()))
            for view, s in settings.items()
        }
        feed_dsn, feed_port = await fresh_database(stack.admin_dsn), free_port()
        admin = PartnerFeedSettings(
            partners_database_url=feed_dsn,
            partners_public_url=f"http://127.0.0.1:{feed_port}",
            **stack.kafka_settings("admin"),
        )
        added = await partners.add(admin, IQ_IDENTITY)
        exits.push_async_callback(partners.revoke, admin, IQ.value)
        feed = PartnerFeedSettings(
            partners_database_url=feed_dsn,
            partners_poll=0.5,
            intake_url=platform.urls["intake"],
            **provider_of(stack).client_settings("ip-partners-feed"),
            **stack.kafka_settings(PARTNER_FEED),
        )
        keys_url = await exits.enter_async_context(serving(create_feed_app(feed), feed_port))
        yield {
            "platform": platform,
            "aa": settings[ViewId.AA_MG],
            "aa_url": urls[ViewId.AA_MG],
            "views": [s.agency_database_url for s in settings.values()],
            "feed": feed_dsn,
            "partner": KafkaAccess(
                stack.kafka_bootstrap, added["sasl.username"], added["sasl.password"]
            ),
            "keys": PartnerKeys(keys_url, added["keys.token"]),
        }


async def partner_messages(
    access: KafkaAccess, person: str, until: type[PartnerNotice]
) -> list[PartnerNotice]:
    """The messages about ``person`` on IQ's topic, read as IQ once one of ``until`` came."""

    def about(received: list[bytes]) -> list[PartnerNotice]:
        parsed = (partner_message.validate_json(raw) for raw in received)
        return [m for m in parsed if m.person == person]

    async def arrived(received: list[bytes]) -> bool:
        return any(isinstance(m, until) for m in about(received))

    group = f"{partners.group_prefix(IQ.value)}test-erasure-{uuid4().hex[:8]}"
    return about(await receive_until(access, partner_topic(IQ.value), group, arrived))


async def database_text(dsn: str) -> str:
    """Every row of every table of a database, as text (bytea decoded)."""
    conn = await asyncpg.connect(dsn)
    try:
        tables = await conn.fetch(
            "SELECT table_schema, table_name FROM information_schema.tables"
            " WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
        )
        parts = []
        for t in tables:
            rows = await conn.fetch(f'SELECT * FROM "{t["table_schema"]}"."{t["table_name"]}"')  # noqa: S608  # names from the catalogue
            parts += [" ".join(_text(value) for value in row.values()) for row in rows]
        return "\n".join(parts)
    finally:
        await conn.close()


def _text(value: object) -> str:
    if isinstance(value, memoryview):
        value = bytes(value)
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


async def topic_bytes(stack: StackInfo, topic: str) -> bytes:
    """Every record of ``topic``: values and header values, raw."""
    total = sum(end - begin for begin, end in (await topic_bounds(stack.kafka, [topic])).values())

    def complete(records: list[Any]) -> bool:
        return len(records) >= total

    records = await read_topic(stack, topic, complete) if total else []
    return b"".join((r.value or b"") + b"".join(v for _, v in r.headers) for r in records)


async def test_erasure_leaves_nothing_readable(
    world: dict[str, Any], stack: StackInfo, capfd: pytest.CaptureFixture[str]
) -> None:
    """Registered, consented (to IQ, which received the identity), handed over, then erased:
    a scan of every store, topic and log line finds no name, birth date, identifier or named
    person; IQ got an erasure notice and can fetch no key of what it received."""
    platform: Platform = world["platform"]
    case = (
        await platform.command(
            "intake",
            "/cases",
            {
                "given_name": SECRETS[0],
                "family_name": SECRETS[1],
                "date_of_birth": SECRETS[2],
                "nationality": "TUR",
                "site": "MG",
                "town": "Mönchengladbach",
                "allocated_on": "2016-02-01",
            },
        )
    )["case_id"]
    base = f"/cases/{case}"
    for path, body in (
        ("identifiers", {"kind": "bamf_file_number", "value": SECRETS[3]}),
        (
            "residence-status",
            {
                "status": "aufenthaltsgestattung",
                "valid_from": "2016-02-01",
                "stay_since": "2016-01-10",
            },
        ),
        (
            "consents",
            {
                "consent_id": str(uuid4()),
                "purposes": ["recognition"],
                "recipients": [{"partner": "iq_counselling", "named_person": SECRETS[4]}],
                "data_categories": ["identity"],
                "notice_version": "2016-01",
                "notice_language": "tr",
                "method": "written",
                "given_on": "2016-02-09",
            },
        ),
        ("asylum-decision", {"outcome": "fluechtlingseigenschaft", "decided_on": "2016-06-01"}),
        ("sgb2-application", {"applied_on": "2016-06-10"}),
    ):
        await platform.command("intake", f"{base}/{path}", body)
    await accept_pending_hand_over(platform, case, "JC-MG", "2016-06-15")
    person = await _pseudonym(world["feed"], case)
    before = await partner_messages(world["partner"], person, ForwardedEvent)
    forwarded = [m for m in before if isinstance(m, ForwardedEvent)]
    registered = [m for m in forwarded if m.event_type == "intake.person_registered"]
    assert registered, [m.event_type for m in forwarded]
    assert (await world["keys"].opened(registered[0]))["given_name"] == SECRETS[0]
    async with httpx.AsyncClient(base_url=world["aa_url"], headers=bearer(stack, "anna.aa")) as aa:
        await until(lambda: _named(aa, case, SECRETS[0]), "the Agentur view never showed the name")
        await platform.command(
            "intake",
            f"{base}/erasure",
            {"reason": "Antrag nach Art. 17 DSGVO, rechtlich geprüft", "erased_on": "2016-09-01"},
            agency="JC-MG",
        )
        await until(lambda: _named(aa, case, None), "the Agentur view kept the name")
    await until(lambda: _jc_erased(world["views"][1], case), "the Jobcenter view kept names")
    await until(lambda: _steering_erased(world["views"][2], case), "steering kept the age")
    after = await partner_messages(world["partner"], person, Erased)
    forwarded = [m for m in after if isinstance(m, ForwardedEvent)]
    keys = [(await world["keys"].key(m.data.key_id)).status_code for m in forwarded]

    databases = (*platform.dsns.values(), *world["views"], world["feed"])
    stores = [await database_text(dsn) for dsn in databases]
    async with KafkaAdmin(stack.kafka) as admin:
        topics = await admin.client.list_topics()
    partner_topics = sorted(t for t in topics if t.startswith(PARTNER_TOPIC_PREFIX))
    raw = b"".join([await topic_bytes(stack, topic) for topic in (*ALL_TOPICS, *partner_topics)])
    key = await httpx.AsyncClient(base_url=platform.urls["intake"]).get(
        f"/internal/person-keys/{case}", headers=client_bearer(stack, "ip-view-reader")
    )
    rebuilt = await _rebuilt_agentur_view(world["aa"])  # a new generation of the database
    logs = capfd.readouterr()

    assert key.status_code == 404
    assert [type(m).__name__ for m in after].count("Erased") == 1
    assert forwarded, "the scan covers what IQ received"
    assert set(keys) == {404}, "IQ can still fetch a key of what it received"
    assert partner_topic(IQ.value) in partner_topics
    for secret in SECRETS:
        assert not any(secret in text for text in stores), f"{secret} in a database"
        assert secret.encode() not in raw, f"{secret} on a topic"
        assert secret not in logs.out + logs.err, f"{secret} in the logs"
        assert secret not in rebuilt, f"{secret} in a rebuilt view"
    assert UUID(case).hex  # the case itself remains: non-personal facts are kept


async def _pseudonym(feed_dsn: str, case: str) -> str:
    """The person's pseudonym for IQ (the test knows the subscription's key; IQ does not)."""
    conn = await asyncpg.connect(feed_dsn)
    try:
        iq = next(r for r in await partners.registered(conn) if r.partner is IQ)
    finally:
        await conn.close()
    return pseudonym(iq.pseudonym_key, UUID(case))


async def _named(aa: httpx.AsyncClient, case: str, name: str | None) -> bool:
    answer = await aa.get(f"/cases/{case}")
    person = registration(answer.json()) if answer.status_code == 200 else None
    return person is not None and person.get("given_name") == name


async def _jc_erased(dsn: str, case: str) -> bool:
    text = await database_text(dsn)
    return case in text and SECRETS[0] not in text


async def _steering_erased(dsn: str, case: str) -> bool:
    """Steering counts the case and keeps its age band up to the erasure day, but no longer
    knows when the person turns 25 (under 25 then: the band is unknown after it)."""
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(
            "SELECT turns_25_on, age_known_until FROM steering_cases WHERE case_id = $1",
            UUID(case),
        )
    finally:
        await conn.close()
    return row is not None and (row["turns_25_on"], row["age_known_until"]) == (
        date.max,
        date(2016, 9, 1),
    )


async def _rebuilt_agentur_view(settings: AgencyViewSettings) -> str:
    """The Agentur view rebuilt from the topics (not swapped in), as text."""
    rebuilt = await rebuild_view(settings, swap=False, say=lambda _line: None)
    conn = await asyncpg.connect(settings.agency_database_url)
    try:
        rows = [
            row
            for table in ("case_facts", "case_events")
            for row in await conn.fetch(f"SELECT * FROM {rebuilt.generation}.{table}")  # noqa: S608  # checked names
        ]
    finally:
        await conn.close()
    assert rows, "the rebuilt view holds the case's non-personal facts"
    return "\n".join(str(dict(row)) for row in rows)


async def until(predicate: Any, what: str) -> None:
    for _ in range(600):
        if await predicate():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(what)
