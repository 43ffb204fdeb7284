"""Intake's milestone store on the real PostgreSQL: idempotent, folded into the package."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from contracts.envelope import Envelope
from contracts.topics import CODECS
from services.chassis.eventstore import install_schema
from services.intake.app import SPEC
from services.intake.reactions import PostgresMilestones

pytestmark = pytest.mark.postgres

SAMPLES = Path(__file__).resolve().parents[2] / "contracts" / "samples"


def sample(topic: str, name: str, **data: object) -> Envelope[Any]:
    raw = json.loads((SAMPLES / topic / f"{name}.json").read_text())
    raw["data"] |= data
    return CODECS[topic].parse(raw)


async def test_milestones_are_recorded_once_and_folded(fresh_pool: asyncpg.Pool) -> None:
    """Delivered twice, a milestone counts once; an ended course no longer runs."""
    await install_schema(fresh_pool, *SPEC.schema_sql())
    store = PostgresMilestones(fresh_pool)
    started = sample("ip.language.path.v1", "language.enrolment_started.v1")
    ended = sample("ip.language.path.v1", "language.enrolment_ended.v1")
    level = sample("ip.language.path.v1", "language.exam_taken.v2")
    case_id = started.case_id

    for envelope in (started, started, level, level):
        await store.record(envelope)
    running = await store.for_case(case_id)
    await store.record(ended)
    after_end = await store.for_case(case_id)

    assert len(running.running_courses) == 1
    assert running.language_level is not None
    assert after_end.running_courses == ()
    assert await fresh_pool.fetchval("SELECT count(*) FROM milestone_facts") == 2
