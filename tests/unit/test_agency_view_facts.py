"""The agency view's bookkeeping: facts survive the database on the recording clock, and
nothing sealed is ever stored."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from contracts.envelope import Envelope
from contracts.intake import ConsentGiven, HandOverAccepted, intake_codec
from services.projections.agency import (
    merged,
    recorded_payload,
    without_sealed,
)
from services.projections.agency_rows import facts_from_json, facts_to_json
from services.projections.purpose import case_facts

SAMPLES = Path(__file__).resolve().parents[2] / "contracts" / "samples" / "ip.intake.case.v1"


def sample(name: str) -> Envelope[Any]:
    return intake_codec.parse((SAMPLES / f"{name}.json").read_bytes())


def test_rule_dates_move_to_the_recording_clock() -> None:
    """A hand-over and a consent are judged by when they were recorded, not back-dated days;
    a consent's valid_until stays a calendar limit from its German midnight (23:00 UTC in
    winter)."""
    accepted = sample("intake.hand_over_accepted.v1")
    given = sample("intake.consent_given.v1")

    timed_accept = recorded_payload(accepted)
    timed_consent = recorded_payload(given)

    assert isinstance(timed_accept, HandOverAccepted)
    assert timed_accept.accepted_on == accepted.occurred_at
    assert isinstance(timed_consent, ConsentGiven)
    assert timed_consent.given_on == given.occurred_at
    assert timed_consent.valid_until == datetime(2018, 2, 8, 23, tzinfo=UTC)


def test_facts_round_trip_through_json() -> None:
    """The facts stored per case come back equal, instants and all."""
    events = [
        sample(n)
        for n in (
            "intake.person_registered.v2",
            "intake.consent_given.v1",
            "intake.hand_over_accepted.v1",
        )
    ]
    facts = case_facts(recorded_payload(e) for e in events)

    stored = facts_to_json(facts)

    assert facts_from_json(stored) == facts
    assert "Haddad" not in stored
    assert json.loads(stored)["site"] == "MG"


def test_sealed_values_are_dropped_not_stored() -> None:
    """A personal field still sealed (no key) becomes null; plain values stay."""
    sealed = {"key_id": "k", "nonce": "n", "ciphertext": "c"}
    payload = {"given_name": sealed, "site": "MG", "recipients": [{"named_person": sealed}]}

    assert without_sealed(payload) == {
        "given_name": None,
        "site": "MG",
        "recipients": [{"named_person": None}],
    }


def test_an_event_published_twice_is_folded_once() -> None:
    """A relay may publish an event twice: the history read back keeps one of each, in the
    order of recording, so a hand-over moves responsibility once."""
    registered = sample("intake.person_registered.v2")
    accepted = sample("intake.hand_over_accepted.v1")

    events = merged([registered, accepted, accepted], [accepted])

    assert [e.event_id for e in events] == [registered.event_id, accepted.event_id]
    facts = case_facts(recorded_payload(e) for e in events)
    assert [r.agency.value for r in facts.responsibility] == ["AA-MG", "JC-MG"]
