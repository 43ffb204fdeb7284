"""An agency view keeps a batch's rows in memory and writes them at once: a batch holds what
its events read one by one would, and a poison message in it leaves nothing behind."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest
from aiokafka import TopicPartition

from contracts.envelope import Envelope
from contracts.topics import DOMAIN_TOPICS
from services.chassis import generations
from services.chassis.crypto import PersonKey
from services.chassis.kafka import KafkaAccess
from services.chassis.projection import ProjectionRunner
from services.projections.agency import AgencyView
from services.projections.agency_app import AGENCY
from services.projections.purpose import ViewId
from tests.integration.test_agency_view_order import (
    AGENCY_VIEWS,
    INTAKE,
    PLACEMENT,
    NoKeys,
    Recorded,
    at,
    cases,
    consumed,
    folded,
)

pytestmark = [pytest.mark.postgres]


@pytest.mark.parametrize("view", AGENCY_VIEWS, ids=[view.value for view in AGENCY_VIEWS])
async def test_a_batch_holds_what_its_events_one_by_one_hold(fresh_dsn: str, view: ViewId) -> None:
    """The same cases in batches of one, of four and all in one, in the order of recording
    and with intake read last (registrations after their cases' other events): the same rows
    in every table, and a log of exactly what the view holds."""
    recorded = cases()
    for name, order in {
        "recorded": recorded.in_order_of_recording(),
        "intake_last": recorded.topic_by_topic(DOMAIN_TOPICS[::-1]),
    }.items():
        one_by_one = await folded(fresh_dsn, view, order, f"{name}_one")
        in_fours = await folded(fresh_dsn, view, order, f"{name}_four", batch=4)
        at_once = await folded(fresh_dsn, view, order, f"{name}_all", batch=len(order))

        assert in_fours == one_by_one, name
        assert at_once == one_by_one, name
        held = {json.loads(row)["event_id"] for row in at_once["case_events"]}
        logged = {json.loads(row)["event_id"] for row in at_once["disclosures_unshown"]}
        assert logged == held, name


class KeysFailingFor(NoKeys):
    """The key lookup of one case fails as a broken key service would (not transiently)."""

    def __init__(self, failing: UUID) -> None:
        self.failing = failing

    async def find(self, case_id: UUID, key_id: str | None = None) -> PersonKey | None:
        if case_id == self.failing:
            raise ValueError("the key service answered nonsense")
        return await super().find(case_id, key_id)


async def test_an_event_failing_half_way_in_a_batch_is_parked_and_leaves_nothing(
    fresh_dsn: str,
) -> None:
    """Three cases in one batch of the served Agentur view. The registration of the middle
    one fails after the view had noted its facts in memory: it is parked (its later event
    behind it), and neither its facts nor its registration reach a table, while the cases
    before and after it are held and logged whole."""
    before, failing, after = uuid4(), uuid4(), uuid4()
    recorded = Recorded()
    for case in (before, failing, after):
        recorded.add(case, INTAKE, "intake.person_registered.v2", at(1, 8))
        recorded.add(case, PLACEMENT, "placement.residence_facts_noted.v1", at(1, 10))
    order = recorded.in_order_of_recording()
    admin = await asyncpg.connect(fresh_dsn)
    try:
        await admin.execute("CREATE SCHEMA failing")
        await generations.swap(admin, "failing")
    finally:
        await admin.close()
    pool = await generations.open_pool(fresh_dsn, "failing")
    try:
        await AGENCY.install(pool)
        runner = ProjectionRunner(
            name="batches.aa-mg",
            pool=pool,
            kafka=KafkaAccess("127.0.0.1:9"),  # never started: the test hands the events over
            topics=DOMAIN_TOPICS,
            group_id="batches.aa-mg",
            handler=AgencyView(ViewId.AA_MG, KeysFailingFor(failing), _no_history),
        )
        offsets = dict.fromkeys(DOMAIN_TOPICS, -1)
        records = []
        for topic, envelope in order:
            offsets[topic] += 1
            records.append(consumed(topic, offsets[topic], envelope))

        parked = await runner.apply_batch(records)

        async with pool.acquire() as conn:
            held = await conn.fetch("SELECT case_id, type FROM case_events")
            facts = {r["case_id"] for r in await conn.fetch("SELECT case_id FROM case_facts")}
            registered = {r["case_id"] for r in await conn.fetch("SELECT * FROM registered_cases")}
            logged = await conn.fetch(
                "SELECT case_id FROM public.disclosures WHERE to_view = $1", ViewId.AA_MG.value
            )
            dead = await conn.fetch("SELECT key, headers->>'dlq.reason' AS reason FROM outbox")
    finally:
        await pool.close()

    assert parked == 2
    assert sorted((str(r["case_id"]), r["type"]) for r in held) == sorted(
        (str(case), kind)
        for case in (before, after)
        for kind in ("intake.person_registered", "placement.residence_facts_noted")
    )
    assert facts == registered == {before, after}
    assert sorted(str(r["case_id"]) for r in logged) == sorted([str(before)] * 2 + [str(after)] * 2)
    reasons = [r["reason"] for r in dead if r["key"] == str(failing)]
    assert len(reasons) == 2
    assert any("the key service answered nonsense" in reason for reason in reasons)
    assert any(reason.startswith("behind parked") for reason in reasons)


async def _no_history(_case_id: UUID, _bounds: Mapping[TopicPartition, int]) -> list[Envelope[Any]]:
    """Every case here starts in the batch: nothing to read back."""
    return []
