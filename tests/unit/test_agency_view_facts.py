"""The agency view's bookkeeping: facts on the German recording calendar (dates stay dates,
the recording instant beside them) survive the database, and nothing sealed is stored."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from contracts.envelope import Agency, Envelope
from contracts.intake import ConsentGiven, HandOverAccepted, intake_codec
from services.chassis.calendar import day_of
from services.projections.agency import (
    merged,
    recorded_facts,
    recorded_payload,
    without_sealed,
)
from services.projections.agency_rows import facts_from_json, facts_to_json

SAMPLES = Path(__file__).resolve().parents[2] / "contracts" / "samples" / "ip.intake.case.v1"


def sample(name: str) -> Envelope[Any]:
    return intake_codec.parse((SAMPLES / f"{name}.json").read_bytes())


def test_rule_dates_move_to_the_recording_day() -> None:
    """A hand-over and a consent are judged by the German day they were recorded, not by
    back-dated days, and stay dates; a consent's valid_until stays its last day."""
    accepted = sample("intake.hand_over_accepted.v1")
    given = sample("intake.consent_given.v1")

    timed_accept = recorded_payload(accepted)
    timed_consent = recorded_payload(given)

    assert isinstance(timed_accept, HandOverAccepted)
    assert type(timed_accept.accepted_on) is date
    assert timed_accept.accepted_on == day_of(accepted.occurred_at)
    assert isinstance(timed_consent, ConsentGiven)
    assert type(timed_consent.given_on) is date
    assert timed_consent.given_on == day_of(given.occurred_at)
    assert timed_consent.valid_until == date(2018, 2, 9)


def test_the_views_facts_compare_with_a_real_date() -> None:
    """Facts folded as the view folds them compare with a plain date (this raised TypeError
    while the view put datetimes into the date fields)."""
    events = [sample(n) for n in ("intake.person_registered.v2", "intake.consent_given.v1")]
    facts = recorded_facts(events)
    (consent,) = facts.consents

    assert consent.valid_on(date(2018, 2, 9))
    assert not consent.valid_on(date(2018, 2, 10))
    assert facts.consent_lapses(date(2018, 2, 9), date(2018, 2, 10))
    assert facts.responsible_on(date(2030, 1, 1)) is Agency.AA_MG


def test_the_day_of_recording_is_the_german_day() -> None:
    """An event recorded at 23:30 UTC on 31 March falls on 1 April in Germany (summer time)."""
    registered = sample("intake.person_registered.v2")
    late = registered.model_copy(update={"occurred_at": datetime(2016, 3, 31, 23, 30, tzinfo=UTC)})

    facts = recorded_facts([late])

    assert facts.responsibility[0].since == date(2016, 4, 1)
    assert facts.responsibility[0].recorded_at == late.occurred_at


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
    facts = recorded_facts(events)

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
    facts = recorded_facts(events)
    assert [r.agency.value for r in facts.responsibility] == ["AA-MG", "JC-MG"]
