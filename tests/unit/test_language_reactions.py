"""The hand-over reaction: intake's accepted hand-over moves the Agentur's or Jobcenter's
entitlements to the receiving agency, once; the enrolment runs on; other events are ignored."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast
from uuid import UUID, uuid4

from faststream.kafka import KafkaBroker, TestKafkaBroker

from contracts.envelope import Agency, Envelope
from contracts.intake import TOPIC as INTAKE_TOPIC
from contracts.intake import IntakeEvent, intake_codec
from contracts.language import IssuerChanged, LanguageEvent, language_codec
from services.chassis.eventstore import CommandContext
from services.chassis.reactions import dead_letter_parker, subscribe
from services.chassis.service import WriteSide
from services.language.commands import (
    IssueEntitlement,
    LanguageCommand,
    RecordPlacementTest,
    StartEnrolment,
)
from services.language.domain import fold
from services.language.handlers import LanguagePorts, handle
from services.language.reactions import HAND_OVER, REACTION, follow_hand_over
from tests.fakes import MemoryStore

CASE = UUID("0192f1a0-7c3e-7a51-9b6e-3f0c2d1e4a55")
ENTITLEMENT = UUID("0192f1a0-9a00-7000-8000-00000000e001")
ENROLMENT = UUID("0192f1a0-9a00-7000-8000-00000000c001")
HANDOVER = UUID("0192f1a0-9a00-7000-8000-00000000a001")
INTAKE_SAMPLES = Path(__file__).resolve().parents[2] / "contracts" / "samples" / INTAKE_TOPIC


def memory_store() -> MemoryStore[LanguageEvent]:
    return MemoryStore(language_codec)


async def seeded(*commands: LanguageCommand) -> MemoryStore[LanguageEvent]:
    store = memory_store()
    for command in commands:
        context = CommandContext(str(uuid4()), Agency.AA_MG, uuid4())
        await handle(CASE, command, context, LanguagePorts(store))
    return store


async def agentur_berufssprachkurs_running() -> MemoryStore[LanguageEvent]:
    """A person at B1 in a Basismodul B2 on the Agentur's entitlement."""
    return await seeded(
        RecordPlacementTest.model_validate({"level": "B1", "taken_on": "2016-08-15"}),
        IssueEntitlement.model_validate(
            {
                "entitlement_id": ENTITLEMENT,
                "course_type": "berufssprachkurs_basis",
                "target_level": "B2",
                "kind": "berechtigung",
                "issuer": "agentur",
                "issuing_agency": "AA-MG",
                "issued_on": "2016-09-01",
            }
        ),
        StartEnrolment(
            enrolment_id=ENROLMENT,
            entitlement_id=ENTITLEMENT,
            provider="Sprachschule am Bismarckplatz",
            course_number="216/40123",
            modules=("Basismodul B2",),
            started_on=date(2016, 10, 4),
        ),
    )


def hand_over_accepted(
    case_id: UUID = CASE, to_agency: str = "JC-MG", from_agency: str = "AA-MG"
) -> Envelope[IntakeEvent]:
    return intake_codec.parse(
        {
            "event_id": str(uuid4()),
            "case_id": str(case_id),
            "stream_version": 9,
            "type": "intake.hand_over_accepted",
            "schema_version": 1,
            "occurred_at": "2016-11-15T10:00:00Z",
            "agency": to_agency,
            "correlation_id": str(uuid4()),
            "data": {
                "type": "intake.hand_over_accepted",
                "schema_version": 1,
                "handover_id": str(HANDOVER),
                "from_agency": from_agency,
                "to_agency": to_agency,
                "reason": "rechtskreiswechsel",
                "accepted_on": "2016-11-15",
            },
        }
    )


async def test_hand_over_changes_the_issuer_and_the_enrolment_keeps_running() -> None:
    """AA -> JC-MG: the entitlement now answers to JC-MG; the Basismodul runs on unchanged."""
    store = await agentur_berufssprachkurs_running()
    accepted = hand_over_accepted()

    result = await follow_hand_over(accepted, store)

    assert result is not None
    changed = store.streams[CASE][-1]
    assert changed.data == IssuerChanged(
        entitlement_id=ENTITLEMENT,
        from_agency=Agency.AA_MG,
        to_agency=Agency.JC_MG,
        handover_id=HANDOVER,
        effective_on=date(2016, 11, 15),
    )
    assert (changed.agency, changed.causation_id) == (Agency.JC_MG, accepted.event_id)
    assert changed.correlation_id == accepted.correlation_id
    assert store.keys[f"reaction:{REACTION}:{accepted.event_id}"] == (result, None)
    path = fold(CASE, (e.data for e in store.streams[CASE]))
    running = path.running_enrolment()
    assert running is not None
    assert (running.enrolment_id, running.entitlement_id) == (ENROLMENT, ENTITLEMENT)


async def test_a_duplicate_delivery_changes_nothing() -> None:
    """The same hand-over delivered twice records one issuer change."""
    store = await agentur_berufssprachkurs_running()
    accepted = hand_over_accepted()

    await follow_hand_over(accepted, store)
    await follow_hand_over(accepted, store)

    changes = [e for e in store.streams[CASE] if isinstance(e.data, IssuerChanged)]
    assert len(changes) == 1


async def test_a_replayed_key_appends_nothing_even_if_the_state_would_allow_it() -> None:
    """The reaction's idempotency key holds on its own: a redelivery racing the first is one."""
    store = await agentur_berufssprachkurs_running()
    accepted = hand_over_accepted()
    first = await follow_hand_over(accepted, store)
    assert first is not None
    store.streams[CASE] = store.streams[CASE][:-1]  # as if the first were still in flight

    again = await follow_hand_over(accepted, store)

    assert again is not None
    assert again.replayed
    assert not any(isinstance(e.data, IssuerChanged) for e in store.streams[CASE])


async def test_a_hand_over_within_the_agency_moves_nothing() -> None:
    """The Jugendberufsagentur route hands AA-MG over to AA-MG: the entitlement stays the
    Agentur's, nothing is appended, and nothing fails (such hand-overs used to be parked)."""
    store = await agentur_berufssprachkurs_running()
    before = await store.load(CASE)

    assert await follow_hand_over(hand_over_accepted(to_agency="AA-MG"), store) is None
    assert await store.load(CASE) == before


async def test_unknown_case_is_ignored() -> None:
    """A hand-over of a person the language service never saw leaves no trace."""
    store = memory_store()

    assert await follow_hand_over(hand_over_accepted(uuid4()), store) is None
    assert (store.streams, store.keys) == ({}, {})


async def test_other_intake_events_are_ignored() -> None:
    """A first contact is nothing the language path reacts to."""
    store = await agentur_berufssprachkurs_running()
    before = await store.load(CASE)
    first_contact = intake_codec.parse(
        (INTAKE_SAMPLES / "intake.first_contact_made.v1.json").read_bytes()
    )

    assert await follow_hand_over(first_contact, store) is None
    assert await store.load(CASE) == before


def wired(store: MemoryStore[LanguageEvent]) -> KafkaBroker:
    broker = KafkaBroker()
    write_side = cast("WriteSide[Any]", SimpleNamespace(store=store))
    subscribe(broker, HAND_OVER, lambda: write_side, dead_letter_parker(None))
    return broker


async def test_subscriber_on_intakes_topic_follows_the_hand_over() -> None:
    """Wired on a broker, the subscriber decodes intake's JSON and records the change."""
    store = await agentur_berufssprachkurs_running()
    broker = wired(store)

    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(
            json.loads(hand_over_accepted().model_dump_json()), topic=INTAKE_TOPIC, key=b"case"
        )

    assert isinstance(store.streams[CASE][-1].data, IssuerChanged)


async def test_subscriber_reads_old_intake_versions_through_the_upcaster() -> None:
    """A v1 registration arrives, is upcast, parsed and ignored without an error."""
    store = memory_store()
    broker = wired(store)
    v1 = json.loads((INTAKE_SAMPLES / "intake.person_registered.v1.json").read_text())

    async with TestKafkaBroker(broker) as test_broker:
        await test_broker.publish(v1, topic=INTAKE_TOPIC)

    assert store.streams == {}
