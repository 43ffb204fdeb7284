"""Retention on the real stack: an open case the Jobcenter looks after, whose DeuFöV course
data ran out of its period. The retention job erases that category alone: every view drops
the case's language-course rows, the person is not erased (their key stays), and the
Jobcenter's view still shows the case, name and profile included; the course provider the
person consented to is told, and only the course data's keys of its copies are deleted."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest

from contracts.intake import DataCategory, Partner, Purpose
from contracts.partners import CategoryErased, ForwardedEvent, PartnerNotice, partner_message
from contracts.topics import partner_topic
from deploy.local.devstack import StackInfo
from deploy.local.principals import PARTNER_FEED
from services.chassis.kafka import KafkaAccess
from services.intake.retention import packaged_schedule, run
from services.intake.retention_rules import kept_until, parse_schedule
from services.projections import partners
from services.projections.forwarding import Subscription
from services.projections.partner_app import create_app as create_feed_app
from services.projections.partner_feed import pseudonym
from services.projections.partner_settings import PartnerFeedSettings
from services.projections.purpose import ViewId
from tests.conftest import free_port
from tests.e2e.agency_views import NAME, OCCUPATION, handed_over_case, serve_views
from tests.e2e.harness import receive_until, serving
from tests.e2e.partner_keys import PartnerKeys
from tests.e2e.platform import (
    Platform,
    caught_up,
    fresh_database,
    running_platform,
    until,
)
from tests.identity import bearer, client_bearer, provider_of

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

VIEWS = (ViewId.AA_MG, ViewId.JC_MG)
PROVIDER = Partner.COURSE_PROVIDER


@dataclass
class World:
    platform: Platform
    dsns: dict[ViewId, str]
    urls: dict[ViewId, str]
    feed_dsn: str
    partner: KafkaAccess  # the course provider's connection
    keys: PartnerKeys

    async def messages(self, case: str) -> list[PartnerNotice]:
        """What the course provider received about the person so far (at least one)."""
        conn = await asyncpg.connect(self.feed_dsn)
        try:
            registered = next(r for r in await partners.registered(conn) if r.partner is PROVIDER)
        finally:
            await conn.close()
        person = pseudonym(registered.pseudonym_key, UUID(case))
        found: list[PartnerNotice] = []

        async def seen(received: list[bytes]) -> bool:
            parsed = [partner_message.validate_json(raw) for raw in received]
            found[:] = [m for m in parsed if m.person == person]
            return bool(found)

        group = f"{partners.group_prefix(PROVIDER)}test-{uuid4().hex[:8]}"
        await receive_until(self.partner, partner_topic(PROVIDER.value), group, seen)
        return found


@pytest.fixture(scope="module")
async def world(stack: StackInfo, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    """The four services, the Agentur's and the Jobcenter MG's views, and the course
    providers' feed (language and profile data for language courses)."""
    async with running_platform(stack) as platform, AsyncExitStack() as exits:
        dsns, urls = await serve_views(stack, platform, VIEWS, exits)
        feed_dsn = await fresh_database(stack.admin_dsn)
        port = free_port()
        added = await partners.add(
            PartnerFeedSettings(
                partners_database_url=feed_dsn,
                partners_credentials_dir=tmp_path_factory.mktemp("partners"),
                partners_public_url=f"http://127.0.0.1:{port}",
                **stack.kafka_settings("admin"),
            ),
            Subscription(
                PROVIDER,
                Purpose.LANGUAGE_COURSES,
                frozenset({DataCategory.LANGUAGE, DataCategory.PROFILE}),
            ),
        )
        feed = PartnerFeedSettings(
            partners_database_url=feed_dsn,
            partners_poll=0.5,
            intake_url=platform.urls["intake"],
            **provider_of(stack).client_settings("ip-partners-feed"),
            **stack.kafka_settings(PARTNER_FEED),
        )
        keys_url = await exits.enter_async_context(serving(create_feed_app(feed), port))
        yield World(
            platform,
            dsns,
            urls,
            feed_dsn,
            KafkaAccess(stack.kafka_bootstrap, added["sasl.username"], added["sasl.password"]),
            PartnerKeys(keys_url, added["keys.token"]),
        )


async def categories(dsn: str, case: str) -> list[str | None]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT category FROM case_events WHERE case_id = $1 ORDER BY occurred_at", UUID(case)
        )
    finally:
        await conn.close()
    return [row["category"] for row in rows]


async def course_ended_on(intake_dsn: str, case: str) -> Any:
    conn = await asyncpg.connect(intake_dsn)
    try:
        return await conn.fetchval(
            "SELECT max(occurred_at)::date FROM milestone_facts"
            " WHERE case_id = $1 AND kind = 'course' HAVING bool_and(ended)",
            UUID(case),
        )
    finally:
        await conn.close()


async def a_course_at_the_jobcenter(platform: Platform, case: str) -> None:
    """After the hand-over a placement test at B1, and the Jobcenter grants a
    Berufssprachkurs, which starts and ends."""
    base = f"/cases/{case}"
    entitlement, enrolment = str(uuid4()), str(uuid4())
    await platform.command(
        "language",
        f"{base}/placement-tests",
        {"level": "B1", "taken_on": "2016-06-20"},
        agency="JC-MG",
    )
    await platform.command(
        "language", f"{base}/entitlements",
        {"entitlement_id": entitlement, "course_type": "berufssprachkurs_basis",
         "target_level": "B2", "kind": "berechtigung", "issuer": "jobcenter",
         "issuing_agency": "JC-MG", "issued_on": "2016-07-01"},
        agency="JC-MG",
    )  # fmt: skip
    await platform.command(
        "language", f"{base}/enrolments",
        {"enrolment_id": enrolment, "entitlement_id": entitlement,
         "provider": "Sprachschule Rheydt", "course_number": "BSK-B2-MG-2016-07",
         "modules": ["Basismodul B2"], "started_on": "2016-07-04"},
        agency="JC-MG",
    )  # fmt: skip
    await platform.command(
        "language", f"{base}/enrolments/end",
        {"enrolment_id": enrolment, "outcome": "completed", "ended_on": "2016-12-16"},
        agency="JC-MG",
    )  # fmt: skip


async def test_the_open_cases_course_data_go_and_the_case_stays(world: World) -> None:
    """Five years and a day after the last course ended, the job erases the course data
    (intake.category_erased), not the person: the views drop the language rows, keep the
    rest; the Jobcenter's view still answers with the case; the key still opens it. The
    course provider gets a category_erased notice; the key of the course data it received is
    404, that of the profile under the same consent still 200."""
    platform, dsns, urls = world.platform, world.dsns, world.urls
    case, _ = await handed_over_case(platform)
    await platform.command(
        "intake",
        f"/cases/{case}/consents",
        {"consent_id": str(uuid4()), "purposes": ["language_courses"],
         "recipients": [{"partner": PROVIDER.value}], "data_categories": ["language", "profile"],
         "notice_version": "2016-01", "notice_language": "ar", "method": "written",
         "given_on": "2016-06-20"},
        agency="JC-MG",
    )  # fmt: skip
    await a_course_at_the_jobcenter(platform, case)

    async def both_hold_courses() -> bool:
        jc = await categories(dsns[ViewId.JC_MG], case)
        aa = await categories(dsns[ViewId.AA_MG], case)
        return jc.count("language") >= 4 and "language" in aa  # 3 course events, 1 test

    async def course_ended() -> bool:
        return await course_ended_on(platform.dsns["intake"], case) is not None

    received: list[ForwardedEvent] = []
    told: list[CategoryErased] = []

    async def provider_has_both() -> bool:
        received[:] = [m for m in await world.messages(case) if isinstance(m, ForwardedEvent)]
        return {m.category for m in received} == {DataCategory.LANGUAGE, DataCategory.PROFILE}

    await until(both_hold_courses, "the views never held the course data")
    await until(course_ended, "intake never learned that the course ended")
    await until(provider_has_both, "the course provider never received the consented data")
    await caught_up(platform.stack.kafka, dsns.values())
    ended = await course_ended_on(platform.dsns["intake"], case)
    today = kept_until(ended, 5) + timedelta(days=1)
    before = {view: await categories(dsns[view], case) for view in VIEWS}

    out = io.StringIO()
    due = await run(
        platform.dsns["intake"],
        parse_schedule(packaged_schedule()),
        today,
        apply=True,
        out=out,
        progress=lambda *_: None,
    )

    mine = [e for e in due if str(e.case_id) == case]
    assert [(e.rule.id, e.category) for e in mine] == [("deufoev-course-data", "language")]

    async def courses_gone() -> bool:
        held = [await categories(dsns[view], case) for view in VIEWS]
        return all("language" not in categories_of_view for categories_of_view in held)

    await until(courses_gone, "a view kept the course data after its period ran out")
    await caught_up(platform.stack.kafka, dsns.values())
    stored = [e["type"] for e in await platform.stored("intake", case)]
    assert stored[-1] == "intake.category_erased"
    assert "intake.person_erased" not in stored
    for view in VIEWS:  # every other row stays (beside them the erasure, the case's own act)
        after = [c for c in await categories(dsns[view], case) if c is not None]
        assert after == [c for c in before[view] if c not in {"language", None}], view
    async with httpx.AsyncClient(timeout=30) as client:
        timeline = await client.get(
            f"{urls[ViewId.JC_MG]}/cases/{case}",
            headers=bearer(platform.stack, "jonas.jcmg"),
        )
        key = await client.get(
            f"{platform.urls['intake']}/internal/person-keys/{case}",
            headers=client_bearer(platform.stack, "ip-view-reader"),
        )
    assert timeline.status_code == 200, timeline.text
    assert NAME in timeline.text
    assert OCCUPATION in timeline.text
    assert "Sprachschule Rheydt" not in timeline.text
    assert key.status_code == 200, "the person's key was deleted"

    async def provider_told() -> bool:
        told[:] = [m for m in await world.messages(case) if isinstance(m, CategoryErased)]
        return bool(told)

    await until(provider_told, "the course provider was not told of the erasure")
    assert [m.category for m in told] == [DataCategory.LANGUAGE]
    for message in received:
        expected = 404 if message.category is DataCategory.LANGUAGE else 200
        answer = await world.keys.key(message.data.key_id)
        assert answer.status_code == expected, (message.event_type, answer.text)
