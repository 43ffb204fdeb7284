"""Placement's reaction to intake: the pure map from intake events to placement commands,
and the wiring through FastStream (upcasting, idempotency, unknown cases, skipped events)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any, cast
from uuid import UUID

import pytest
from faststream.kafka import KafkaBroker, TestKafkaBroker

from contracts.common import Site
from contracts.intake import TOPIC as INTAKE_TOPIC
from contracts.intake import ResidenceStatus, intake_codec
from contracts.placement import (
    JugendberufsagenturRouteNoted,
    PlacementEvent,
    ResidenceFactsNoted,
    placement_codec,
)
from services.chassis.reactions import dead_letter_parker, subscribe
from services.chassis.service import WriteSide
from services.placement.commands import (
    NoteJugendberufsagenturRoute,
    NoteResidenceFacts,
    ResidenceDocument,
)
from services.placement.reactions import REACTION, RESIDENCE_FACTS, command_for
from tests.fakes import MemoryStore

INTAKE_SAMPLES = Path(__file__).resolve().parents[2] / "contracts" / "samples" / INTAKE_TOPIC


def sample(name: str, **data: Any) -> dict[str, Any]:
    """An intake golden sample as raw JSON, its payload changed by ``data``."""
    raw: dict[str, Any] = json.loads((INTAKE_SAMPLES / f"intake.{name}.json").read_text())
    raw["data"] |= data
    return raw


def event_of(raw: dict[str, Any]) -> tuple[Any, UUID]:
    envelope = intake_codec.parse(raw)
    return envelope.data, envelope.event_id


# --- the pure map ---------------------------------------------------------------------------


def test_registration_gives_nationality_and_site() -> None:
    """PersonRegistered (sealed names and all) yields nationality and site only."""
    event, event_id = event_of(sample("person_registered.v2"))

    assert command_for(event, event_id) == NoteResidenceFacts(
        source_event_id=event_id, nationality="SYR", site=Site.MG
    )


def test_residence_status_gives_the_whole_document() -> None:
    """ResidenceStatusRecorded becomes placement's copy of the document."""
    event, event_id = event_of(sample("residence_status_recorded.v1"))

    assert command_for(event, event_id) == NoteResidenceFacts(
        source_event_id=event_id,
        document=ResidenceDocument(
            status=ResidenceStatus.AUFENTHALTSGESTATTUNG,
            stay_since=date(2015, 12, 20),
            valid_until=date(2016, 8, 1),
        ),
    )


def test_an_ausbildungsduldung_gives_its_status_but_not_the_training_contract() -> None:
    """Placement learns the status and dates its rules need; the training company stays
    with intake and the Ausländerbehörde."""
    event, event_id = event_of(sample("residence_status_recorded.v2"))

    command = command_for(event, event_id)

    assert command == NoteResidenceFacts(
        source_event_id=event_id,
        document=ResidenceDocument(
            status=ResidenceStatus.AUSBILDUNGSDULDUNG,
            stay_since=date(2015, 12, 20),
            valid_until=date(2019, 8, 31),
        ),
    )
    assert isinstance(command, NoteResidenceFacts)
    assert "Tischlerei" not in command.model_dump_json()


@pytest.mark.parametrize(
    ("outcome", "granted"), [("fluechtlingseigenschaft", True), ("abgelehnt", False)]
)
def test_asylum_decision_gives_protection_granted_or_not(outcome: str, granted: bool) -> None:
    """A grant of protection, or a rejection, is noted as such."""
    event, event_id = event_of(sample("asylum_decided.v1", outcome=outcome))

    assert command_for(event, event_id) == NoteResidenceFacts(
        source_event_id=event_id, protection_granted=granted
    )


def test_wohnsitzauflage_gives_the_site() -> None:
    """A residence assignment moves the case's site."""
    event, event_id = event_of(sample("wohnsitzauflage_imposed.v1", town="Jüchen", site="GV"))

    assert command_for(event, event_id) == NoteResidenceFacts(
        source_event_id=event_id, site=Site.GV
    )


def test_hand_over_to_the_jugendberufsagentur_gives_the_route() -> None:
    """An accepted under-25 hand-over puts the case on the Jugendberufsagentur route."""
    raw = sample("hand_over_accepted.v1", reason="under_25_jugendberufsagentur")
    event, event_id = event_of(raw)

    assert command_for(event, event_id) == NoteJugendberufsagenturRoute(
        source_event_id=event_id,
        handover_id=UUID(raw["data"]["handover_id"]),
        noted_on=date(2016, 6, 27),
    )


def test_hand_over_with_a_move_gives_the_new_site() -> None:
    """A move between Jobcenters carries the person's new site."""
    raw = sample("hand_over_accepted.v1", reason="move_between_jobcenters", new_site="NE")
    event, event_id = event_of(raw)

    assert command_for(event, event_id) == NoteResidenceFacts(
        source_event_id=event_id, site=Site.NE
    )


@pytest.mark.parametrize(
    "name", ["hand_over_accepted.v1", "first_contact_made.v1", "consent_given.v1"]
)
def test_events_placement_needs_nothing_from_give_no_command(name: str) -> None:
    """A Rechtskreiswechsel without a move, a contact or a consent change nothing here."""
    event, event_id = event_of(sample(name))

    assert command_for(event, event_id) is None


# --- the wiring -----------------------------------------------------------------------------


def memory_store() -> MemoryStore[PlacementEvent]:
    return MemoryStore(placement_codec)


async def deliver(store: MemoryStore[PlacementEvent], *messages: dict[str, Any]) -> None:
    """Publish intake messages to a placement reaction wired on an in-memory broker."""
    broker = KafkaBroker()
    write_side = WriteSide(pool=cast(Any, None), store=cast(Any, store))
    subscribe(broker, RESIDENCE_FACTS, lambda: write_side, dead_letter_parker(None))
    async with TestKafkaBroker(broker) as test_broker:
        for message in messages:
            await test_broker.publish(message, topic=INTAKE_TOPIC, key=message["case_id"].encode())


async def test_residence_status_first_opens_the_case_and_a_redelivery_changes_nothing() -> None:
    """A status before anything else is noted, with its causation; delivered twice, once."""
    store = memory_store()
    raw = sample("residence_status_recorded.v1")
    case_id = UUID(raw["case_id"])

    await deliver(store, raw, raw)

    [noted] = store.streams[case_id]
    assert isinstance(noted.data, ResidenceFactsNoted)
    assert noted.data.stay_since == date(2015, 12, 20)
    assert noted.causation_id == UUID(raw["event_id"])
    assert f"reaction:{REACTION}:{raw['event_id']}" in store.keys


async def test_old_intake_versions_are_upcast_and_facts_merge_across_events() -> None:
    """A v1 registration is read through intake's upcaster; later events merge into it."""
    store = memory_store()
    registered = sample("person_registered.v1")
    case_id = UUID(registered["case_id"])

    await deliver(
        store,
        registered,
        sample("residence_status_recorded.v1"),
        sample("asylum_decided.v1"),
        sample("hand_over_accepted.v1", reason="under_25_jugendberufsagentur"),
        sample("first_contact_made.v1"),
    )

    events = [envelope.data for envelope in store.streams[case_id]]
    assert [type(event) for event in events] == [
        ResidenceFactsNoted,
        ResidenceFactsNoted,
        ResidenceFactsNoted,
        JugendberufsagenturRouteNoted,
    ]
    last = events[2]
    assert isinstance(last, ResidenceFactsNoted)
    assert (last.nationality, last.status, last.protection_granted) == (
        "SYR",
        "aufenthaltsgestattung",
        True,
    )
