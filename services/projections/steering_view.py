"""The steering view's projection: each case's dated facts, folded from all four topics.

Each event is folded into its case's ``steering.CaseRecord`` (stored as JSON), in stream
order per source as the partitions deliver it (the runner skips relay duplicates by event
id); the figures are computed from these records
when asked for (``steering_api``). The only thing taken from a personal field is the day the
person turns 25, for the age band, and only for persons under 25 when allocated: the birth
date is opened with the person's key and dropped. An erasure takes that day away too, so the
person is counted under "unbekannt" from then on, live and in a rebuild alike.
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
            "SELECT record::text, turns_25_on FROM steering_cases WHERE case_id = $1", case_id
        )
        record = load_record(row["record"]) if row else steering.CaseRecord(case_id)
        turns_25: date | None = row["turns_25_on"] if row else None
        steering.apply(record, envelope)
        match envelope.data:
            case PersonRegistered() as registered:
                turns_25 = await self._turns_25(case_id, registered)
            case PersonErased():
                self._keys.forget(case_id)  # a cached key must not outlive the erasure
                turns_25 = None
        await conn.execute(
            "INSERT INTO steering_cases (case_id, record, turns_25_on) VALUES ($1, $2::jsonb, $3)"
            " ON CONFLICT (case_id) DO UPDATE"
            " SET record = excluded.record, turns_25_on = excluded.turns_25_on",
            case_id,
            RECORD.dump_json(record).decode(),
            turns_25,
        )
        log.info(
            "event.projected",
            view="steering",
            case_id=str(case_id),
            event_id=str(envelope.event_id),
            event_type=envelope.type,
        )

    async def _turns_25(self, case_id: UUID, registered: PersonRegistered) -> date | None:
        # Opened with the key the value names (a rotation keeps old events on their key);
        # erased or unknown: still sealed, counted under "unbekannt".
        born = (await opened(registered, case_id, self._keys)).date_of_birth
        return (
            steering.turns_25_on(born, registered.allocated_on) if isinstance(born, date) else None
        )


def load_record(stored: str) -> steering.CaseRecord:
    """A case's record back from the JSON the view stores."""
    return RECORD.validate_json(stored)
