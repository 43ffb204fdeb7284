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

from datetime import date
from typing import Final
from uuid import UUID

import structlog
from pydantic import TypeAdapter

from contracts.intake import PersonErased, PersonRegistered
from contracts.topics import CODECS, DOMAIN_TOPICS
from services.chassis.keyclient import KeySource, opened
from services.chassis.projection import ConsumedEvent, DbConnection
from services.projections import steering

log = structlog.get_logger("projection.steering")

RECORD: Final = TypeAdapter(steering.CaseRecord)


class SteeringView:
    """The projection handler of the steering view."""

    def __init__(self, keys: KeySource) -> None:
        self._keys = keys

    async def start_batch(self, conn: DbConnection) -> None:
        """Nothing to prepare: every event is folded on its own."""

    async def apply(self, conn: DbConnection, event: ConsumedEvent) -> None:
        if event.topic not in DOMAIN_TOPICS:
            return
        envelope = CODECS[event.topic].parse(event.value)
        case_id = envelope.case_id
        row = await conn.fetchrow(
            "SELECT record::text, turns_25_on, age_known_until FROM steering_cases"
            " WHERE case_id = $1",
            case_id,
        )
        record = load_record(row["record"]) if row else steering.CaseRecord(case_id)
        ages = _age_facts(row["turns_25_on"], row["age_known_until"]) if row else None
        steering.apply(record, envelope)
        match envelope.data:
            case PersonRegistered() as registered:
                ages = await self._ages(case_id, registered)
            case PersonErased() as erased:
                self._keys.forget(case_id)  # a cached key must not outlive the erasure
                ages = await _erased(conn, case_id, ages, erased.erased_on)
        await conn.execute(
            "INSERT INTO steering_cases (case_id, record, turns_25_on, age_known_until)"
            " VALUES ($1, $2::jsonb, $3, $4) ON CONFLICT (case_id) DO UPDATE"
            " SET record = excluded.record, turns_25_on = excluded.turns_25_on,"
            " age_known_until = excluded.age_known_until",
            case_id,
            RECORD.dump_json(record).decode(),
            ages.turns_25_on if ages else None,
            ages.known_until if ages and ages.known_until != date.max else None,
        )
        log.info(
            "event.projected",
            view="steering",
            case_id=str(case_id),
            event_id=str(envelope.event_id),
            event_type=envelope.type,
        )

    async def _ages(self, case_id: UUID, registered: PersonRegistered) -> steering.AgeFacts | None:
        # Opened with the key the value names (a rotation keeps old events on their key);
        # erased or unknown: still sealed, counted under "unbekannt".
        born = (await opened(registered, case_id, self._keys)).date_of_birth
        if not isinstance(born, date):
            return None
        return steering.AgeFacts(steering.turns_25_on(born, registered.allocated_on))


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
