"""Network partners on their own topics, end to end on the real stack: a partner added after
the events receives the backlog of consenting persons only, in the categories it subscribed
to, under pseudonyms, sealed with keys only it can fetch; a withdrawal stops the flow, sends
a notice and deletes the consent's keys; the partner reads nothing internal; once revoked it
cannot connect, its feed stops and its token fetches nothing."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest
from aiokafka.errors import KafkaConnectionError

from contracts.intake import DataCategory, Partner, Purpose
from contracts.partners import ConsentEnded, ForwardedEvent, PartnerNotice, partner_message
from contracts.topics import ALL_TOPICS, DOMAIN_TOPICS, RECOGNITION_TOPIC, partner_topic
from deploy.local.devstack import StackInfo
from deploy.local.principals import PARTNER_FEED
from services.chassis.kafka import KafkaAccess
from services.chassis.kafka_admin import KafkaAdmin
from services.chassis.offsets import topic_bounds
from services.projections import partners
from services.projections.partner_app import create_app
from services.projections.partner_feed import pseudonym
from services.projections.partner_host import FeedHost
from services.projections.partner_settings import PartnerFeedSettings
from services.projections.purpose import Subscription
from tests.conftest import free_port
from tests.e2e.harness import REPO, receive_until, serving
from tests.e2e.partner_keys import PartnerKeys
from tests.e2e.platform import Platform, fresh_database, running_platform
from tests.identity import provider_of
from tests.kafka_probes import can_read, can_write

pytestmark = [pytest.mark.postgres, pytest.mark.kafka, pytest.mark.slow]

IQ = Partner.IQ_COUNSELLING
TOPIC = partner_topic(IQ.value)


@dataclass
class World:
    platform: Platform
    feed_dsn: str
    host: FeedHost
    access: KafkaAccess  # the partner's connection
    cases: dict[str, str]  # who -> case id
    consents: dict[str, str]
    credentials: Path  # the file `partners add` wrote for the partner
    keys: PartnerKeys  # the partner's side of the key endpoint
    received: list[bytes] = field(default_factory=list)

    async def registered(self) -> partners.Registered:
        conn = await asyncpg.connect(self.feed_dsn)
        try:
            return next(r for r in await partners.registered(conn) if r.partner is IQ)
        finally:
            await conn.close()

    async def person(self, who: str) -> str:
        return pseudonym((await self.registered()).pseudonym_key, UUID(self.cases[who]))

    async def messages(self, who: str) -> list[PartnerNotice]:
        mine = await self.person(who)
        parsed = [partner_message.validate_json(raw) for raw in self.received]
        return [m for m in parsed if m.person == mine]


async def _register(platform: Platform, given: str) -> str:
    body = {
        "given_name": given,
        "family_name": "Haddad",
        "date_of_birth": "1991-04-04",
        "nationality": "SYR",
        "site": "NE",
        "town": "Neuss",
        "allocated_on": "2016-03-01",
    }
    return str((await platform.command("intake", "/cases", body))["case_id"])


async def _consent(
    platform: Platform, case: str, purposes: list[str], categories: list[str]
) -> str:
    consent = str(uuid4())
    await platform.command(
        "intake",
        f"/cases/{case}/consents",
        {
            "consent_id": consent,
            "purposes": purposes,
            "recipients": [{"partner": IQ.value}],
            "data_categories": categories,
            "notice_version": "2016-01",
            "notice_language": "ar",
            "method": "written",
            "given_on": "2016-03-05",
        },
    )
    return consent


async def _counselling(platform: Platform, case: str, held_on: str = "2016-03-20") -> None:
    await platform.command(
        "recognition",
        f"/cases/{case}/counselling",
        {
            "procedure_id": str(uuid4()),
            "qualification_kind": "hochschulabschluss",
            "qualification_title": "Informatik",
            "country": "SYR",
            "counselled_by": "iq_beratung",
            "held_on": held_on,
        },
    )


async def _profile(platform: Platform, case: str) -> None:
    work = {
        "country": "SYR",
        "occupation": "Softwareentwickler",
        "kldb": "43412",
        "from_year": 2010,
    }
    await platform.command("intake", f"/cases/{case}/profile", {"work_history": [work]})


async def _withdraw(platform: Platform, case: str, consent: str) -> None:
    await platform.command(
        "intake",
        f"/cases/{case}/consents/withdrawal",
        {"consent_id": consent, "withdrawn_on": "2016-05-02"},
    )


async def _caught_up(world: World, stack: StackInfo) -> None:
    """Until the feed has consumed everything on the domain topics as they stand now, and
    published what it had to."""
    ends = await topic_bounds(stack.kafka, DOMAIN_TOPICS)
    schema = (await world.registered()).schema
    conn = await asyncpg.connect(world.feed_dsn)
    try:
        for _ in range(1500):  # five minutes: the feed reads every earlier test's events
            rows = await conn.fetch(
                f'SELECT topic, "partition", "offset" FROM {schema}.projection_positions'  # noqa: S608  # our schema name
            )
            stored = {(r["topic"], r["partition"]): r["offset"] for r in rows}
            behind = [
                tp
                for tp, (_, end) in ends.items()
                if stored.get((tp.topic, tp.partition), -1) + 1 < end
            ]
            unsent = await conn.fetchval(
                f"SELECT count(*) FROM {schema}.outbox WHERE sent_at IS NULL"  # noqa: S608  # our schema name
            )
            if not behind and not unsent:
                return
            await asyncio.sleep(0.2)
    finally:
        await conn.close()
    raise AssertionError("the partner feed did not catch up within 300 s")


async def _receive(world: World, enough: Any) -> None:
    """Read the partner's topic as the partner (from the beginning) until ``enough``."""

    async def seen(received: list[bytes]) -> bool:
        world.received = received
        return bool(await enough())

    group = f"{partners.group_prefix(IQ)}test-{uuid4().hex[:8]}"
    await receive_until(world.access, TOPIC, group, seen)


@pytest.fixture(scope="module")
async def world(stack: StackInfo, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    """Events exist first (four persons), then IQ is added for recognition data, and its
    feed runs."""
    async with running_platform(stack) as platform:
        cases = {who: await _register(platform, who) for who in ("amal", "badr", "chadi", "dunya")}
        consents = {
            # consents to IQ for recognition, for recognition and profile data
            "amal": await _consent(
                platform, cases["amal"], ["recognition"], ["recognition", "profile"]
            ),
            # names IQ, but for counselling: not the purpose IQ was subscribed for
            "badr": await _consent(platform, cases["badr"], ["counselling"], ["recognition"]),
            # consented, then withdrew before IQ was ever added
            "dunya": await _consent(platform, cases["dunya"], ["recognition"], ["recognition"]),
        }  # chadi gave no consent at all
        await _withdraw(platform, cases["dunya"], consents["dunya"])
        for case in cases.values():
            await _profile(platform, case)
            await _counselling(platform, case)
        for case in cases.values():
            await platform.published_types(RECOGNITION_TOPIC, case, 1)

        feed_dsn = await fresh_database(stack.admin_dsn)
        credentials = tmp_path_factory.mktemp("partners")
        port = free_port()
        admin = PartnerFeedSettings(
            partners_database_url=feed_dsn,
            partners_credentials_dir=credentials,
            partners_public_url=f"http://127.0.0.1:{port}",
            **stack.kafka_settings("admin"),
        )
        added = await partners.add(
            admin, Subscription(IQ, Purpose.RECOGNITION, frozenset({DataCategory.RECOGNITION}))
        )
        access = KafkaAccess(stack.kafka_bootstrap, added["sasl.username"], added["sasl.password"])
        feed = PartnerFeedSettings(
            partners_database_url=feed_dsn,
            partners_poll=0.5,
            intake_url=platform.urls["intake"],
            **provider_of(stack).client_settings("ip-partners-feed"),
            **stack.kafka_settings(PARTNER_FEED),
        )
        app = create_app(feed)  # the feed process: the feeds and the partners' keys
        async with serving(app, port) as keys_url:
            host: FeedHost = app.state.host
            yield World(
                platform,
                feed_dsn,
                host,
                access,
                cases,
                consents,
                credentials / "iq_counselling.json",
                PartnerKeys(keys_url, added["keys.token"]),
            )


async def test_the_backlog_reaches_the_partner_for_consenting_persons_only(
    world: World, stack: StackInfo
) -> None:
    """Added after the events: only the consenting person's recognition data arrives, under a
    pseudonym; not the profile (not subscribed), nothing of the others."""

    async def amal_arrived() -> bool:
        return any(isinstance(m, ForwardedEvent) for m in await world.messages("amal"))

    await _receive(world, amal_arrived)
    await _caught_up(world, stack)
    await _receive(world, amal_arrived)  # everything the caught-up feed published

    amal = await world.messages("amal")
    assert [(m.event_type, m.category) for m in amal if isinstance(m, ForwardedEvent)] == [
        ("recognition.counselling_held", DataCategory.RECOGNITION)
    ]
    assert {m.consent_id for m in amal if isinstance(m, ForwardedEvent)} == {
        UUID(world.consents["amal"])
    }
    assert isinstance(amal[0], ForwardedEvent)
    assert (await world.keys.opened(amal[0]))["qualification_title"] == "Informatik"
    for who in ("badr", "chadi", "dunya"):
        assert await world.messages(who) == [], who
    raw = b"".join(world.received)
    assert not any(case.encode() in raw for case in world.cases.values())
    assert b"Informatik" not in raw  # readable only with the key


async def test_the_example_consumer_reads_its_topic(world: World) -> None:
    """examples/partner_consumer.py, with the file `partners add` wrote, fetches the key and
    prints the consenting person's event under its pseudonym, and no one else."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(REPO / "examples" / "partner_consumer.py"),
        str(world.credentials),
        "--group",
        f"test-{uuid4().hex[:8]}",
        "--idle-exit",
        "10",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=180)
    text = output.decode()

    assert process.returncode == 0, text
    assert f"{await world.person('amal')}: recognition.counselling_held (recognition)" in text
    assert "Informatik" in text  # opened with the key it fetched
    for who in ("badr", "chadi", "dunya"):
        assert await world.person(who) not in text


async def test_a_withdrawal_stops_the_flow_and_notifies_the_partner(
    world: World, stack: StackInfo
) -> None:
    """After the withdrawal: a consent_ended notice for the consent, whose key the partner
    can no longer fetch; an event recorded once the feed has learnt of the withdrawal is not
    passed on."""
    forwarded = (await world.messages("amal"))[0]
    assert isinstance(forwarded, ForwardedEvent)
    await _withdraw(world.platform, world.cases["amal"], world.consents["amal"])

    async def notified() -> bool:
        return any(isinstance(m, ConsentEnded) for m in await world.messages("amal"))

    await _receive(world, notified)
    await _counselling(world.platform, world.cases["amal"], held_on="2016-06-01")
    await world.platform.published_types(RECOGNITION_TOPIC, world.cases["amal"], 2)
    await _caught_up(world, stack)
    await _receive(world, notified)

    amal = await world.messages("amal")
    assert [type(m).__name__ for m in amal] == ["ForwardedEvent", "ConsentEnded"]
    ended = amal[-1]
    assert isinstance(ended, ConsentEnded)
    assert (ended.consent_id, ended.reason) == (UUID(world.consents["amal"]), "withdrawn")
    assert (await world.keys.key(forwarded.data.key_id)).status_code == 404


async def test_only_the_partners_token_fetches_its_keys(world: World) -> None:
    """Without a token 401, with another one 403; an unknown key 404."""
    async with httpx.AsyncClient(base_url=world.keys.url) as client:
        anonymous = await client.get("/keys/fk-0")

    assert anonymous.status_code == 401
    assert (await world.keys.key("fk-0", token="not-the-partners-token")).status_code == 403
    assert (await world.keys.key("fk-0")).status_code == 404


async def test_a_partner_reads_nothing_internal(world: World) -> None:
    """No internal topic is readable or writable by the partner, nor is its own writable."""
    for topic in ALL_TOPICS:
        assert not await can_read(world.access, topic), topic
        assert not await can_write(world.access, topic), topic
    assert not await can_write(world.access, TOPIC)
    assert await can_read(world.access, TOPIC)


async def test_a_revoked_partner_cannot_connect_and_its_feed_stops(
    world: World, stack: StackInfo, tmp_path: Path
) -> None:
    """After revoke: the old secret is refused, the feed no longer runs, the topic is gone."""
    admin = PartnerFeedSettings(
        partners_database_url=world.feed_dsn,
        partners_credentials_dir=tmp_path,
        **stack.kafka_settings("admin"),
    )
    assert await partners.revoke(admin, IQ)

    with pytest.raises(KafkaConnectionError):
        await can_read(world.access, TOPIC)
    for _ in range(150):
        if IQ.value not in world.host.feeds:
            break
        await asyncio.sleep(0.2)
    assert IQ.value not in world.host.feeds
    assert (await world.registered()).revoked_at is not None
    assert (await world.keys.key("fk-0")).status_code == 403  # a revoked partner's token
    async with KafkaAdmin(stack.kafka) as broker:
        assert TOPIC not in await broker.client.list_topics()
