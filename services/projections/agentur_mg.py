"""The Agentur für Arbeit Mönchengladbach's view: every case in the district, with identity.

The Agentur is responsible for asylum seekers in SGB III, so it may see every registered
person's identity and first-contact facts.
"""

from __future__ import annotations

from typing import Any, Final

import structlog

from contracts.intake import TOPIC as INTAKE_TOPIC
from contracts.intake import FirstContactMade, PersonErased, PersonRegistered, intake_codec
from contracts.personal import Sealed
from services.chassis.keyclient import KeySource, opened
from services.chassis.projection import ConsumedEvent, DbConnection

log = structlog.get_logger("projection.aa_mg")

NAME: Final = "aa_mg"
TOPICS: Final = (INTAKE_TOPIC,)


class AgenturView:
    """Applies intake events to ``aa_mg_cases``."""

    def __init__(self, keys: KeySource) -> None:
        self._keys = keys

    async def start_batch(self, conn: DbConnection) -> None:
        """Nothing to prepare: every event is applied on its own."""

    async def apply(self, conn: DbConnection, event: ConsumedEvent) -> None:
        if event.topic != INTAKE_TOPIC:
            return
        envelope = intake_codec.parse(event.value)
        data = envelope.data
        with structlog.contextvars.bound_contextvars(
            case_id=str(envelope.case_id), event_id=str(envelope.event_id)
        ):
            match data:
                case PersonRegistered():
                    person = await opened(data, envelope.case_id, self._keys)
                    await conn.execute(
                        "INSERT INTO aa_mg_cases (case_id, given_name, family_name, date_of_birth,"
                        " nationality, languages, site, town, allocated_on, version, updated_at)"
                        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
                        " ON CONFLICT (case_id) DO UPDATE SET given_name = $2, family_name = $3,"
                        " date_of_birth = $4, nationality = $5, languages = $6, site = $7,"
                        " town = $8, allocated_on = $9,"
                        " version = GREATEST(aa_mg_cases.version, $10), updated_at = $11,"
                        " events_applied = aa_mg_cases.events_applied + 1",
                        envelope.case_id,
                        _plain(person.given_name),
                        _plain(person.family_name),
                        _plain(person.date_of_birth),
                        person.nationality,
                        list(person.languages),
                        person.site.value,
                        person.town,
                        person.allocated_on,
                        envelope.stream_version,
                        envelope.occurred_at,
                    )
                case PersonErased():
                    # The key is gone; so go the names and birth date this view opened.
                    self._keys.forget(envelope.case_id)
                    await conn.execute(
                        "UPDATE aa_mg_cases SET given_name = NULL, family_name = NULL,"
                        " date_of_birth = NULL WHERE case_id = $1",
                        envelope.case_id,
                    )
                case FirstContactMade():
                    await conn.execute(
                        "INSERT INTO aa_mg_cases (case_id, first_contact_on, interpreter_language,"
                        " version, updated_at) VALUES ($1, $2, $3, $4, $5)"
                        " ON CONFLICT (case_id) DO UPDATE SET first_contact_on = $2,"
                        " interpreter_language = $3,"
                        " version = GREATEST(aa_mg_cases.version, $4), updated_at = $5,"
                        " events_applied = aa_mg_cases.events_applied + 1",
                        envelope.case_id,
                        data.contacted_on,
                        data.interpreter_language,
                        envelope.stream_version,
                        envelope.occurred_at,
                    )
            log.info("event.projected", event_type=envelope.type, projection=NAME)


def _plain(value: object) -> Any:
    """A still-sealed value (its key erased or unknown) is stored as nothing."""
    return None if isinstance(value, Sealed) else value
