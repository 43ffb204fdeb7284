"""Network partners on their own topics, end to end on the real stack: a partner added after
the events receives the backlog of consenting persons only, in the categories it subscribed
to, under pseudonyms, sealed with keys only it can fetch; a withdrawal stops the flow, sends
a notice and deletes the consent's keys; the partner reads nothing internal; once revoked it
cannot connect, its feed stops and its token fetches nothing."""

from __future__ import annotations

import asyncio
import shutil
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import confluent_kafka
import httpx
import pytest
from aiokafka.errors import KafkaConnectionError

from contracts.intake import TOPIC as INTAKE_TOPIC
from contracts.intake import DataCategory, Partner, Purpose, intake_codec
from contracts.partners import ConsentEnded, ForwardedEvent, PartnerNotice, partner_message
from contracts.topics import (
    ALL_TOPICS,
    DOMAIN_TOPICS,
    PLACEMENT_TOPIC,
    RECOGNITION_TOPIC,
    partner_topic,
)
from deploy.local import devstack
from deploy.local.devstack import StackInfo
from deploy.local.principals import PARTNER_FEED
from services.chassis.eventstore import PostgresEventStore
from services.chassis.kafka import KafkaAccess
from services.chassis.kafka_admin import KafkaAdmin
from services.chassis.offsets import topic_bounds
from services.chassis.service import WriteSide
from services.intake.app import intake_ports
from services.intake.consent_expiry import expire_lapsed
from services.projections import partners
from services.projections.forwarding import Subscription
from services.projections.partner_app import create_app
from services.projections.partner_feed import pseudonym
from services.projections.partner_host import FeedHost
from services.projections.partner_settings import PartnerFeedSettings
from tests.conftest import free_port
from tests.e2e.harness import REPO, receive_until, serving
from tests.e2e.partner_keys import PartnerKeys
from tests.e2e.platform import Platform, fresh_database, running_platform
from tests.identity import provider_of
from tests.kafka_probes import can_read, can_write

pytestmark = [pytest.mark.postgres, pytest.mark.kafka, pytest.mark.slow]

IQ = Partner.IQ_COUNSELLING
TOPIC = partner_topic(IQ.value)
ONE_DAY = timedelta(days=1)


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

    async def registered(self, name: str = IQ.value) -> partners.Registered:
        conn = await asyncpg.connect(self.feed_dsn)
        try:
            return next(r for r in await partners.registered(conn) if r.name == name)
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
    platform: Platform,
    case: str,
    purposes: list[str],
    categories: list[str],
    valid_until: str | None = None,
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
            "valid_until": valid_until,
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


async def _caught_up(world: World, stack: StackInfo, name: str = IQ.value) -> None:
    """Until the feed has consumed everything on the domain topics as they stand now, and
    published what it had to."""
    ends = await topic_bounds(stack.kafka, DOMAIN_TOPICS)
    schema = (await world.registered(name)).schema
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

    group = f"{partners.group_prefix(IQ.value)}test-{uuid4().hex[:8]}"
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


def _librdkafka_settings(path: Path) -> dict[str, str]:
    """The file as librdkafka reads one (``kcat -F``): ``key=value`` lines, ``#`` comments."""
    lines = [line.strip() for line in path.read_text().splitlines()]
    pairs = (line.split("=", 1) for line in lines if line and not line.startswith("#"))
    return {key.strip(): value.strip() for key, value in pairs}


def _consume_with_librdkafka(settings: dict[str, str], group: str) -> list[bytes]:
    """What confluent-kafka (a librdkafka >= 2.6.1) reads with the file's settings alone."""
    consumer = confluent_kafka.Consumer(
        {**settings, "group.id": group, "auto.offset.reset": "earliest"}
    )
    try:
        consumer.subscribe([TOPIC])
        received: list[bytes] = []
        for _ in range(240):  # two minutes at most
            message = consumer.poll(0.5)
            if message is None:
                if received:
                    return received
                continue
            error = message.error()
            assert error is None, error
            received.append(message.value() or b"")
        return received
    finally:
        consumer.close()


async def test_standard_clients_read_the_topic_with_the_files_add_wrote(world: World) -> None:
    """librdkafka (confluent-kafka) with <partner>.librdkafka.conf and the Apache Java client
    with <partner>.properties, as they are, log in and read the partner's events."""
    assert tuple(int(part) for part in confluent_kafka.libversion()[0].split(".")) >= (2, 6, 1)
    folder = world.credentials.parent
    librdkafka = _librdkafka_settings(folder / "iq_counselling.librdkafka.conf")
    received = await asyncio.to_thread(
        _consume_with_librdkafka,
        librdkafka,
        f"{partners.group_prefix(IQ)}rdkafka-{uuid4().hex[:6]}",
    )
    assert any(b"recognition.counselling_held" in value for value in received), received

    java = shutil.which("java")
    assert java is not None
    process = await asyncio.create_subprocess_exec(
        java,
        "-cp",
        f"{devstack.DEFAULT_CACHE_DIR / 'kafka-libs'}/*",
        str(Path(__file__).parent / "java" / "ReadPartnerTopic.java"),
        str(folder / "iq_counselling.properties"),
        TOPIC,
        f"{partners.group_prefix(IQ)}java-{uuid4().hex[:6]}",
        "120",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    output, errors = await asyncio.wait_for(process.communicate(), timeout=240)
    assert process.returncode == 0, errors.decode()[-2000:]
    assert b"recognition.counselling_held" in output, output.decode()[-2000:]


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


async def test_a_consent_expires_by_itself_and_the_partner_is_told(world: World) -> None:
    """A consent to IQ valid until a day ahead (the views judge on the recording clock), under
    which IQ received data: intake's expiry pass on the day after, its clock passed in and no
    endpoint called, records the expiry; IQ gets consent_ended (expired) and the consent's
    key is 404."""
    until_day = datetime.now(UTC).date() + timedelta(days=30)
    case = await _register(world.platform, "emil")
    consent = await _consent(
        world.platform, case, ["recognition"], ["recognition"], until_day.isoformat()
    )
    await _counselling(world.platform, case)
    person = pseudonym((await world.registered()).pseudonym_key, UUID(case))

    def about(kind: type[PartnerNotice]) -> list[PartnerNotice]:
        parsed = (partner_message.validate_json(raw) for raw in world.received)
        return [m for m in parsed if m.person == person and isinstance(m, kind)]

    async def forwarded() -> bool:
        return bool(about(ForwardedEvent))

    await _receive(world, forwarded)
    (received,) = about(ForwardedEvent)
    assert isinstance(received, ForwardedEvent)
    assert (await world.keys.key(received.data.key_id)).status_code == 200
    pool = await asyncpg.create_pool(world.platform.dsns["intake"], min_size=1, max_size=2)
    try:
        write_side = WriteSide(pool, PostgresEventStore(pool, INTAKE_TOPIC, intake_codec))
        # valid_until is the consent's last day: it lapses on the day after.
        before = await expire_lapsed(write_side, intake_ports(write_side), until_day)
        expired = await expire_lapsed(write_side, intake_ports(write_side), until_day + ONE_DAY)
    finally:
        await pool.close()

    assert (UUID(case), UUID(consent)) not in before
    assert (UUID(case), UUID(consent)) in expired

    async def notified() -> bool:
        return bool(about(ConsentEnded))

    await _receive(world, notified)
    (ended,) = about(ConsentEnded)
    assert isinstance(ended, ConsentEnded)
    assert (ended.consent_id, ended.reason) == (UUID(consent), "expired")
    assert (await world.keys.key(received.data.key_id)).status_code == 404


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


# --- employers: each its own recipient, topic and principal, and only what DOMAIN.md allows --

SCHMITZ, HANSEN = "12345678", "87654321"  # two employers' Betriebsnummern
EMPLOYER_FIELDS = {"type", "request_id", "granted", "valid_until", "decided_on"}


@dataclass
class Employers:
    case: str  # the person, who consented to Schmitz for placement
    access: dict[str, KafkaAccess]  # Betriebsnummer -> that employer's connection
    keys: dict[str, PartnerKeys]
    refused: str  # the request ids of the two decisions
    granted: str


def _employer(organisation: str) -> Subscription:
    categories = frozenset({DataCategory.PROFILE, DataCategory.PLACEMENT})
    return Subscription(Partner.EMPLOYER, Purpose.PLACEMENT, categories, organisation)


async def _permission(
    platform: Platform, case: str, dates: tuple[str, str, str, str], decision: dict[str, Any]
) -> str:
    """A work-permission request, the BA's consent (Vorrangprüfung) and the ABH's decision."""
    requested, start, consented, decided = dates
    request = str(uuid4())
    base = f"/cases/{case}"
    job = {"employer": "Elektro Schmitz GmbH", "job_description": "Elektrohelfer"}
    await platform.command(
        "placement",
        f"{base}/work-permission-requests",
        {"request_id": request, **job, "job_type": "helfer", "start_date": start,
         "requested_on": requested},
        agency="RKN",  # the Ausländerbehörde of the case's town requests and decides
    )  # fmt: skip
    await platform.command(
        "placement",
        f"{base}/ba-consent-decisions",
        {"request_id": request, "granted": True, "decided_on": consented},
    )
    await platform.command(
        "placement",
        f"{base}/permission-decisions",
        {"request_id": request, "decided_on": decided, **decision},
        agency="RKN",
    )
    return request


@pytest.fixture(scope="module")
async def employers(world: World) -> Employers:
    """Schmitz and Hansen subscribe as employers; a person consents to Schmitz for placement
    (profile and placement data), then the ABH refuses one permission and grants another,
    each after the BA's consent."""
    platform = world.platform
    admin = PartnerFeedSettings(
        partners_database_url=world.feed_dsn,
        partners_public_url=world.keys.url,
        **platform.stack.kafka_settings("admin"),
    )
    access, keys = {}, {}
    for organisation in (SCHMITZ, HANSEN):
        added = await partners.add(admin, _employer(organisation))
        access[organisation] = KafkaAccess(
            platform.stack.kafka_bootstrap, added["sasl.username"], added["sasl.password"]
        )
        keys[organisation] = PartnerKeys(world.keys.url, added["keys.token"])
    case = await _register(platform, "emil")
    base = f"/cases/{case}"
    await platform.command(
        "intake",
        f"{base}/residence-status",
        {"status": "aufenthaltsgestattung", "valid_from": "2016-03-01",
         "stay_since": "2016-02-01"},
    )  # fmt: skip
    await platform.command(
        "intake",
        f"{base}/consents",
        {"consent_id": str(uuid4()), "purposes": ["placement"],
         "recipients": [{"partner": "employer", "organisation": SCHMITZ}],
         "data_categories": ["profile", "placement"], "notice_version": "2016-01",
         "notice_language": "ar", "method": "written", "given_on": "2016-03-05"},
    )  # fmt: skip
    await _profile(platform, case)
    await platform.until_stored("placement", case, "placement.residence_facts_noted")
    refused = await _permission(
        platform,
        case,
        ("2016-05-10", "2016-06-01", "2016-05-15", "2016-05-20"),
        {"granted": False, "refusal_reason": "Identität ungeklärt"},
    )
    granted = await _permission(
        platform,
        case,
        ("2016-06-01", "2016-07-01", "2016-06-05", "2016-06-10"),
        {"granted": True, "valid_until": "2017-06-30", "restrictions": ["nur Elektro Schmitz"]},
    )
    # Everything the person's events are is on the topics before the tests read the feeds.
    await platform.published_types(INTAKE_TOPIC, case, 4)  # registration, status, consent, CV
    await platform.published_types(PLACEMENT_TOPIC, case, 7)  # residence facts, 2 x 3 steps
    for organisation in (SCHMITZ, HANSEN):
        await _running(world, _employer(organisation).name)
    return Employers(case, access, keys, refused, granted)


async def _running(world: World, name: str) -> None:
    for _ in range(150):
        if name in world.host.feeds:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"the feed of {name} never started")


async def test_a_consent_cannot_name_employers_in_general(world: World) -> None:
    """ "Any employer" is no recipient: 422 at recipients; each employer is named by its own
    Betriebsnummer."""
    case = await _register(world.platform, "farid")
    body = {
        "consent_id": str(uuid4()),
        "purposes": ["placement"],
        "recipients": [{"partner": "employer"}],
        "data_categories": ["profile"],
        "notice_version": "2016-01",
        "notice_language": "ar",
        "method": "written",
        "given_on": "2016-03-05",
    }
    answer = await world.platform.send("intake", f"/cases/{case}/consents", body)
    assert answer.status_code == 422, answer.text
    assert "named by its organisation" in answer.text
    assert "recipients" in answer.text


async def test_the_named_employer_receives_the_profile_and_granted_until_only(
    world: World, employers: Employers, stack: StackInfo
) -> None:
    """Schmitz, named in the consent, gets the profile and of each decision only request,
    granted, until when and decision day: no refusal reason, restriction, rule version, no
    BA consent (Vorrangprüfung), request or residence fact."""
    name = _employer(SCHMITZ).name
    topic = partner_topic(name)
    registered = await world.registered(name)
    person = pseudonym(registered.pseudonym_key, UUID(employers.case))

    def mine(raw: list[bytes]) -> list[ForwardedEvent]:
        parsed = [partner_message.validate_json(r) for r in raw]
        return [m for m in parsed if isinstance(m, ForwardedEvent) and m.person == person]

    async def both_decisions(raw: list[bytes]) -> bool:
        types = [m.event_type for m in mine(raw)]
        return types.count("placement.permission_decided") == 2

    group = f"{partners.group_prefix(name)}test-{uuid4().hex[:8]}"
    await receive_until(employers.access[SCHMITZ], topic, group, both_decisions)
    await _caught_up(world, stack, name)
    group = f"{partners.group_prefix(name)}test-{uuid4().hex[:8]}"
    received = mine(await receive_until(employers.access[SCHMITZ], topic, group, both_decisions))

    assert sorted(m.event_type for m in received) == [
        "intake.profile_recorded",
        "placement.permission_decided",
        "placement.permission_decided",
    ]
    opened = [await employers.keys[SCHMITZ].opened(m) for m in received]
    decisions = {d["request_id"]: d for d in opened if d["type"] == "placement.permission_decided"}
    assert all(set(d) == EMPLOYER_FIELDS for d in decisions.values())
    assert (
        decisions[employers.refused]["granted"],
        decisions[employers.refused]["valid_until"],
    ) == (
        False,
        None,
    )
    assert (
        decisions[employers.granted]["granted"],
        decisions[employers.granted]["valid_until"],
    ) == (
        True,
        "2017-06-30",
    )
    profile = next(d for d in opened if d["type"] == "intake.profile_recorded")
    assert profile["work_history"][0]["occupation"] == "Softwareentwickler"
    assert not await can_read(employers.access[SCHMITZ], partner_topic(_employer(HANSEN).name))


async def test_an_employer_the_consent_does_not_name_receives_nothing(
    world: World, employers: Employers, stack: StackInfo
) -> None:
    """Hansen, subscribed for the same purpose and categories but named by no consent: once
    its feed has read everything, it has passed nothing on and its topic is empty; it reads
    its own topic and not Schmitz's."""
    name = _employer(HANSEN).name
    await _caught_up(world, stack, name)
    schema = (await world.registered(name)).schema
    conn = await asyncpg.connect(world.feed_dsn)
    try:
        held = await conn.fetchval(f"SELECT count(*) FROM {schema}.feed_facts")  # noqa: S608  # our schema name
        sent = await conn.fetchval(f"SELECT count(*) FROM {schema}.outbox")  # noqa: S608  # our schema name
    finally:
        await conn.close()
    bounds = await topic_bounds(stack.kafka, (partner_topic(name),))

    assert (held, sent) == (0, 0)
    assert bounds
    assert all(end == 0 for _, end in bounds.values())
    assert await can_read(employers.access[HANSEN], partner_topic(name))
    assert not await can_read(employers.access[HANSEN], partner_topic(_employer(SCHMITZ).name))


async def test_a_revoked_partner_cannot_connect_and_its_feed_stops(
    world: World, stack: StackInfo, tmp_path: Path
) -> None:
    """After revoke: the old secret is refused, the feed no longer runs, the topic is gone."""
    admin = PartnerFeedSettings(
        partners_database_url=world.feed_dsn,
        partners_credentials_dir=tmp_path,
        **stack.kafka_settings("admin"),
    )
    assert await partners.revoke(admin, IQ.value)

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
