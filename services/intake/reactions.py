"""Intake's subscribers: the language, recognition and placement milestones it needs for the
hand-over package, kept in ``milestone_facts`` (idempotent upserts, so redelivery is safe)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from contracts.common import CefrLevel
from contracts.envelope import Envelope
from contracts.language import TOPIC as LANGUAGE_TOPIC
from contracts.language import LanguageEnvelope, language_codec
from contracts.placement import TOPIC as PLACEMENT_TOPIC
from contracts.placement import PlacementEnvelope, placement_codec
from contracts.recognition import TOPIC as RECOGNITION_TOPIC
from contracts.recognition import RecognitionEnvelope, recognition_codec
from services.chassis.reactions import Reaction
from services.chassis.service import WriteSide
from services.intake.case import Milestones
from services.intake.milestones import FactKind, facts_of

GROUP = "intake.milestones"


class PostgresMilestones:
    """The milestone facts in intake's database, folded into the package's milestones."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def record(self, envelope: Envelope[Any]) -> None:
        for fact in facts_of(envelope):
            await self._pool.execute(
                "INSERT INTO milestone_facts (case_id, kind, item, label, ended, occurred_at)"
                " VALUES ($1, $2, $3, $4, coalesce($5, false), $6)"
                " ON CONFLICT (case_id, kind, item) DO UPDATE SET"
                " label = coalesce(excluded.label, milestone_facts.label),"
                " ended = coalesce($5, milestone_facts.ended),"
                " occurred_at = greatest(excluded.occurred_at, milestone_facts.occurred_at)",
                envelope.case_id,
                fact.kind.value,
                fact.item,
                fact.label,
                fact.ended,
                envelope.occurred_at,
            )

    async def forget(self, case_id: UUID, kinds: frozenset[FactKind]) -> None:
        """Delete what intake learned of ``kinds`` so far (a category's retention ran out)."""
        await self._pool.execute(
            "DELETE FROM milestone_facts WHERE case_id = $1 AND kind = ANY($2::text[])"
            " AND occurred_at <= now()",
            case_id,
            sorted(k.value for k in kinds),
        )

    async def for_case(self, case_id: UUID) -> Milestones:
        rows = await self._pool.fetch(
            "SELECT kind, label, ended FROM milestone_facts WHERE case_id = $1"
            " ORDER BY occurred_at",
            case_id,
        )
        by_kind: dict[str, list[asyncpg.Record]] = {}
        for row in rows:
            by_kind.setdefault(row["kind"], []).append(row)
        levels = [CefrLevel(r["label"]) for r in by_kind.get(FactKind.LANGUAGE_LEVEL, [])]
        recognition = by_kind.get(FactKind.RECOGNITION, [])
        return Milestones(
            language_level=max(levels, key=lambda level: level.rank) if levels else None,
            running_courses=_running(by_kind.get(FactKind.COURSE, [])),
            recognition_state=recognition[-1]["label"] if recognition else None,
            measures=_running(by_kind.get(FactKind.MEASURE, [])),
            employer_contacts=len(by_kind.get(FactKind.EMPLOYER_CONTACT, [])),
        )


def _running(rows: list[asyncpg.Record]) -> tuple[str, ...]:
    return tuple(row["label"] for row in rows if not row["ended"] and row["label"])


async def _record(envelope: Envelope[Any], write_side: WriteSide[Any]) -> None:
    await PostgresMilestones(write_side.pool).record(envelope)


REACTIONS: tuple[Reaction[WriteSide[Any]], ...] = (
    Reaction(
        name=f"{GROUP}.language",
        topic=LANGUAGE_TOPIC,
        codec=language_codec,
        envelope=LanguageEnvelope,
        description="Language levels, running courses: for the hand-over package.",
        handle=_record,
    ),
    Reaction(
        name=f"{GROUP}.recognition",
        topic=RECOGNITION_TOPIC,
        codec=recognition_codec,
        envelope=RecognitionEnvelope,
        description="The state of recognition procedures: for the hand-over package.",
        handle=_record,
    ),
    Reaction(
        name=f"{GROUP}.placement",
        topic=PLACEMENT_TOPIC,
        codec=placement_codec,
        envelope=PlacementEnvelope,
        description="Running measures and employer contacts: for the hand-over package.",
        handle=_record,
    ),
)
