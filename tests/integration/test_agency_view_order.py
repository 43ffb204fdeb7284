"""An agency view is the same whatever order it reads the four topics in: the handler, on
the real database, fed one set of cases in the order of recording and in other orders across
topics (each topic's own order kept, as Kafka keeps it per case)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest

from contracts.envelope import Envelope
from contracts.topics import CODECS, DOMAIN_TOPICS
from deploy.local.chaos.fold import StoreHistory
from services.chassis import generations
from services.chassis.crypto import PersonKey
from services.chassis.kafka import KafkaAccess
from services.chassis.projection import ConsumedEvent, ProjectionRunner
from services.projections.agency import AgencyView
from services.projections.agency_app import AGENCY
from services.projections.purpose import ViewId

pytestmark = [pytest.mark.postgres]

SAMPLES = Path(__file__).resolve().parents[2] / "contracts" / "samples"
INTAKE, LANGUAGE, _, PLACEMENT = DOMAIN_TOPICS
AGENCY_VIEWS = [view for view in ViewId if view is not ViewId.STEERING]


def at(day: int, hour: int = 9) -> datetime:
    return datetime(2026, 1, day, hour, tzinfo=UTC)


class Recorded:
    """Events of several cases, numbered per case and topic as their stores would."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Envelope[Any]]] = []
        self._versions: dict[tuple[str, UUID], int] = {}

    def add(
        self, case: UUID, topic: str, sample: str, when: datetime, **data: Any
    ) -> Envelope[Any]:
        template = CODECS[topic].parse((SAMPLES / topic / f"{sample}.json").read_bytes())
        version = self._versions.get((topic, case), 0) + 1
        self._versions[(topic, case)] = version
        envelope = template.model_copy(
            update={
                "event_id": uuid4(),
                "case_id": case,
                "stream_version": version,
                "occurred_at": when,
                "data": template.data.model_copy(update=data),
            }
        )
        self.events.append((topic, envelope))
        return envelope

    def in_order_of_recording(self) -> list[tuple[str, Envelope[Any]]]:
        return sorted(self.events, key=lambda pair: pair[1].occurred_at)

    def topic_by_topic(self, topics: Sequence[str]) -> list[tuple[str, Envelope[Any]]]:
        """All of one topic, then the next: each topic's own order kept."""
        ordered = self.in_order_of_recording()
        return [pair for topic in topics for pair in ordered if pair[0] == topic]


class NoKeys:
    """No person key is found (as after an erasure): sealed fields are left out."""

    async def find(
        self,
        case_id: UUID,  # noqa: ARG002  # the protocol's signature; no key is ever found
        key_id: str | None = None,  # noqa: ARG002
    ) -> PersonKey | None:
        return None

    def forget(self, case_id: UUID) -> None:
        """Nothing cached."""


async def folded(
    dsn: str,
    view: ViewId,
    order: list[tuple[str, Envelope[Any]]],
    schema: str,
    *,
    batch: int = 1,
    served: bool = False,
) -> dict[str, list[str]]:
    """The view's tables after reading ``order`` into the generation ``schema``, by default
    one event per batch (the incremental path at every step), and its disclosure log: of a
    generation not served (a rebuild's) the rows it has not shown yet, of a ``served`` one the
    log's rows of these events. The rows as JSON, sorted."""
    admin = await asyncpg.connect(dsn)
    try:
        await admin.execute(f"CREATE SCHEMA {generations.checked(schema)}")
        if served:
            await generations.swap(admin, schema)
    finally:
        await admin.close()
    pool = await generations.open_pool(dsn, schema)
    history = StoreHistory()  # the case as read so far (a live view reads it from Kafka)
    offsets: dict[str, int] = {}
    try:
        await AGENCY.install(pool)
        runner = ProjectionRunner(
            name=f"order.{view.value}",
            pool=pool,
            kafka=KafkaAccess("127.0.0.1:9"),  # never started: the test hands the events over
            topics=DOMAIN_TOPICS,
            group_id=f"order.{view.value}",
            handler=AgencyView(view, NoKeys(), history),
        )
        for start in range(0, len(order), batch):
            events = order[start : start + batch]
            records = []
            for topic, envelope in events:
                offsets[topic] = offsets.get(topic, -1) + 1
                records.append(consumed(topic, offsets[topic], envelope))
            await runner.apply_batch(records)
            for _, envelope in events:
                history.applied.setdefault(envelope.case_id, []).append(envelope)
        log = "public.disclosures" if served else "disclosures_unshown"
        event_ids = [envelope.event_id for _, envelope in order]
        async with pool.acquire() as conn:
            # Our table names; the log of these events only (a served one is shared).
            rows = {
                table: await conn.fetch(f"SELECT to_jsonb(t)::text AS t FROM {table} t")  # noqa: S608
                for table in AGENCY.tables
            }
            rows[log] = await conn.fetch(
                f"SELECT to_jsonb(t)::text AS t FROM {log} t WHERE event_id = ANY($1::uuid[])",  # noqa: S608
                event_ids,
            )
        return {table: sorted(row["t"] for row in found) for table, found in rows.items()}
    finally:
        await pool.close()


def consumed(topic: str, offset: int, envelope: Envelope[Any]) -> ConsumedEvent:
    return ConsumedEvent(
        topic=topic,
        partition=0,
        offset=offset,
        key=str(envelope.case_id),
        value=envelope.model_dump_json().encode(),
        headers={"event_id": str(envelope.event_id), "case_id": str(envelope.case_id)},
    )


LAPSING, HANDED = uuid4(), uuid4()


def cases() -> Recorded:
    """A consent that runs out by the calendar while the case goes on, and a hand-over with
    events of other topics recorded just before and after it."""
    recorded = Recorded()
    lapsing, handed = LAPSING, HANDED
    recorded.add(lapsing, INTAKE, "intake.person_registered.v2", at(1, 8))
    recorded.add(
        lapsing,
        INTAKE,
        "intake.consent_given.v1",
        at(1, 9),
        valid_until=date(2026, 1, 2),  # from midnight on the recording clock
    )
    recorded.add(lapsing, LANGUAGE, "language.placement_test_taken.v1", at(1, 12))
    recorded.add(lapsing, PLACEMENT, "placement.residence_facts_noted.v1", at(3))
    recorded.add(handed, INTAKE, "intake.person_registered.v2", at(1, 8))
    recorded.add(handed, LANGUAGE, "language.placement_test_taken.v1", at(4, 8))
    recorded.add(handed, INTAKE, "intake.hand_over_accepted.v1", at(4, 9))
    recorded.add(handed, PLACEMENT, "placement.residence_facts_noted.v1", at(4, 10))
    recorded.add(handed, LANGUAGE, "language.placement_test_taken.v1", at(5))
    return recorded


@pytest.mark.parametrize("view", AGENCY_VIEWS, ids=[view.value for view in AGENCY_VIEWS])
async def test_the_view_is_the_same_in_every_order_across_topics(
    fresh_dsn: str, view: ViewId
) -> None:
    """Read in the order of recording, intake first, or intake last into a generation not
    served yet (a rebuild's): the same rows, table by table (a consent's last day passed by
    another topic's event takes what it opened), and a log of exactly what it holds."""
    recorded = cases()
    orders = {
        "recorded": recorded.in_order_of_recording(),
        "intake_first": recorded.topic_by_topic(DOMAIN_TOPICS),
        "intake_last": recorded.topic_by_topic(DOMAIN_TOPICS[::-1]),
    }

    tables = {name: await folded(fresh_dsn, view, order, name) for name, order in orders.items()}

    assert tables["intake_first"] == tables["recorded"]
    assert tables["intake_last"] == tables["recorded"]
    held = {json.loads(row)["event_id"] for row in tables["recorded"]["case_events"]}
    assert {
        json.loads(row)["event_id"] for row in tables["recorded"]["disclosures_unshown"]
    } == held


async def test_a_consents_last_day_passed_by_another_topics_event_takes_what_it_opened(
    fresh_dsn: str,
) -> None:
    """IQ holds the consented registration and language test while the consent runs; a
    placement event recorded after its last day (no expiry recorded) takes them both."""
    order = cases().in_order_of_recording()
    lapsing = [pair for pair in order if pair[1].case_id == LAPSING]

    running = await folded(fresh_dsn, ViewId.PARTNER_IQ, lapsing[:-1], "running")
    lapsed = await folded(fresh_dsn, ViewId.PARTNER_IQ, lapsing, "lapsed")

    held = [json.loads(row) for row in running["case_events"]]
    assert sorted(row["type"] for row in held) == [
        "intake.person_registered",
        "language.placement_test_taken",
    ]
    assert lapsed["case_events"] == []
    assert lapsed["case_facts"] == []


async def test_the_log_keeps_what_a_committed_batch_showed_and_nothing_a_batch_took_back(
    fresh_dsn: str,
) -> None:
    """The Agentur reads a placement event before the hand-over recorded earlier that ends its
    responsibility. In one batch (one transaction) it is held and taken back unseen: neither
    held nor logged. In batches of one it was shown between them: no longer held, but logged
    on the ground it was shown on."""

    def placement_first() -> tuple[list[tuple[str, Envelope[Any]]], str]:
        """The handed-over case's registration, its placement event, then the hand-over."""
        events = [p for p in cases().in_order_of_recording() if p[1].case_id == HANDED]
        registration, _, hand_over, placement, _ = events
        return [registration, placement, hand_over], str(placement[1].event_id)

    (one_batch, unseen_id), (batches, shown_id) = placement_first(), placement_first()

    unseen = await folded(
        fresh_dsn, ViewId.AA_MG, one_batch, "unseen", batch=len(one_batch), served=True
    )
    shown = await folded(fresh_dsn, ViewId.AA_MG, batches, "shown", served=True)

    assert unseen_id not in ids(unseen["case_events"])
    assert shown_id not in ids(shown["case_events"])
    assert len(ids(unseen["case_events"])) == len(ids(shown["case_events"])) == 2
    assert unseen_id not in ids(unseen["public.disclosures"])
    logged = {json.loads(row)["event_id"]: json.loads(row) for row in shown["public.disclosures"]}
    assert logged[shown_id]["legal_basis"] == "own_responsibility"


def ids(rows: list[str]) -> set[str]:
    return {json.loads(row)["event_id"] for row in rows}
