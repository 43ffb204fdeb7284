"""The steering view's projection: each case's dated facts, folded from all four topics.

Each event is folded into its case's ``steering.CaseRecord`` (stored as JSON), in stream
order per source as the partitions deliver it (the runner skips relay duplicates by event
id); the figures are computed from these records
when asked for (``steering_api``). The only thing taken from a personal field is the day the
person turns 25, for the age band, and only for persons under 25 when allocated: the birth
date is opened with the person's key and dropped. An erasure takes that day away
(``steering.AgeFacts.erased``): the band stays as it was up to the erasure (a birthday in the
case's time only as its month) and is unknown after it. What the erasure left is kept in
``public.steering_erased_ages``, since a rebuild can no longer open the birth date.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final
from uuid import UUID

import structlog
from pydantic import TypeAdapter

from contracts.intake import PersonErased, PersonRegistered
from contracts.topics import CODECS, DOMAIN_TOPICS
from services.chassis.keyclient import KeySource, opened
from services.chassis.projection import ConsumedEvent, DbConnection, keyed_cases
from services.projections import steering

log = structlog.get_logger("projection.steering")

RECORD: Final = TypeAdapter(steering.CaseRecord)


class SteeringView:
    """The projection handler of the steering view: a batch's cases are read in one query and
    written in one statement (a round trip per event bounded its catch-up)."""

    def __init__(self, keys: KeySource) -> None:
        self._keys = keys
        self._cases: dict[UUID, _Case] = {}
        self._changed: set[UUID] = set()

    async def start_batch(self, conn: DbConnection, events: Sequence[ConsumedEvent]) -> None:
        self._cases, self._changed = {}, set()
        await self._read(conn, keyed_cases(events))

    async def apply(self, conn: DbConnection, event: ConsumedEvent) -> None:
        if event.topic not in DOMAIN_TOPICS:
            return
        envelope = CODECS[event.topic].parse(event.value)
        case_id = envelope.case_id
        if case_id not in self._cases:
            await self._read(conn, [case_id])
        case = self._cases[case_id]
        steering.apply(case.record, envelope)
        match envelope.data:
            case PersonRegistered() as registered:
                case.ages = await self._ages(case_id, registered)
            case PersonErased() as erased:
                self._keys.forget(case_id)  # a cached key must not outlive the erasure
                case.ages = await _erased(conn, case_id, case.ages, erased.erased_on)
        self._changed.add(case_id)
        log.info(
            "event.projected",
            view="steering",
            case_id=str(case_id),
            event_id=str(envelope.event_id),
            event_type=envelope.type,
        )

    async def flush(self, conn: DbConnection) -> None:
        rows = [self._cases[case_id].row() for case_id in self._changed]
        if rows:
            await conn.executemany(
                "INSERT INTO steering_cases (case_id, record, turns_25_on, age_known_until)"
                " VALUES ($1, $2::jsonb, $3, $4) ON CONFLICT (case_id) DO UPDATE"
                " SET record = excluded.record, turns_25_on = excluded.turns_25_on,"
                " age_known_until = excluded.age_known_until",
                rows,
            )
        self._changed = set()

    def drop_unflushed(self) -> None:
        """The failed event may have changed its case's record in memory: read all again."""
        self._cases, self._changed = {}, set()

    async def _read(self, conn: DbConnection, case_ids: Iterable[UUID]) -> None:
        wanted = list(set(case_ids))
        rows = await conn.fetch(
            "SELECT case_id, record::text AS record, turns_25_on, age_known_until"
            " FROM steering_cases WHERE case_id = ANY($1::uuid[])",
            wanted,
        )
        for case_id in wanted:
            self._cases[case_id] = _Case(steering.CaseRecord(case_id), None)
        for row in rows:
            self._cases[row["case_id"]] = _Case(
                load_record(row["record"]), _age_facts(row["turns_25_on"], row["age_known_until"])
            )

    async def _ages(self, case_id: UUID, registered: PersonRegistered) -> steering.AgeFacts | None:
        # Opened with the key the value names (a rotation keeps old events on their key);
        # erased or unknown: still sealed, counted under "unbekannt".
        born = (await opened(registered, case_id, self._keys)).date_of_birth
        if not isinstance(born, date):
            return None
        return steering.AgeFacts(steering.turns_25_on(born, registered.allocated_on))


@dataclass
class _Case:
    """A case's record and age facts as the batch has them."""

    record: steering.CaseRecord
    ages: steering.AgeFacts | None

    def row(self) -> tuple[UUID, str, date | None, date | None]:
        ages = self.ages
        return (
            self.record.case_id,
            RECORD.dump_json(self.record).decode(),
            ages.turns_25_on if ages else None,
            ages.known_until if ages and ages.known_until != date.max else None,
        )


def _age_facts(turns_25_on: date | None, known_until: date | None) -> steering.AgeFacts | None:
    if turns_25_on is None:
        return None
    return steering.AgeFacts(turns_25_on, known_until or date.max)


async def _erased(
    conn: DbConnection, case_id: UUID, ages: steering.AgeFacts | None, erased_on: date
) -> steering.AgeFacts | None:
    """What stays of the age band after the erasure: decided once, by the view that still
    knew the birthday, and kept for every later generation (a rebuild knows none)."""
    kept = await conn.fetchrow(
        "SELECT turns_25_on, known_until FROM public.steering_erased_ages WHERE case_id = $1",
        case_id,
    )
    if kept is not None:
        return steering.AgeFacts(kept["turns_25_on"], kept["known_until"])
    if ages is None:
        return None
    left = ages.erased(erased_on)
    await conn.execute(
        "INSERT INTO public.steering_erased_ages (case_id, turns_25_on, known_until)"
        " VALUES ($1, $2, $3) ON CONFLICT (case_id) DO NOTHING",
        case_id,
        left.turns_25_on,
        left.known_until,
    )
    return left


def load_record(stored: str) -> steering.CaseRecord:
    """A case's record back from the JSON the view stores."""
    return RECORD.validate_json(stored)
