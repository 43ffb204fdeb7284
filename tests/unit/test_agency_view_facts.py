"""The agency view's bookkeeping: facts on the German recording calendar (dates stay dates,
the recording instant beside them) survive the database, and nothing sealed is stored."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from contracts.envelope import Agency, Envelope
from contracts.intake import ConsentGiven, HandOverAccepted, intake_codec
from services.chassis.calendar import day_of, end_of_day
from services.projections.agency import (
    judged,
    merged,
    recorded_facts,
    recorded_payload,
    without_sealed,
)
from services.projections.agency_rows import facts_from_json, facts_to_json
from services.projections.purpose import LegalBasis, ViewId

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


BERLIN_TZ = ZoneInfo("Europe/Berlin")


def _consent_until(last_day: date) -> list[Envelope[Any]]:
    """The sample registration and a consent naming IQ, given the day before ``last_day``."""
    registered = sample("intake.person_registered.v2")
    given = sample("intake.consent_given.v1")
    consent = given.data.model_copy(
        update={"given_on": last_day - timedelta(days=1), "valid_until": last_day}
    )
    recorded = datetime.combine(last_day - timedelta(days=1), time(10), BERLIN_TZ)
    return [
        registered.model_copy(update={"occurred_at": recorded - timedelta(hours=1)}),
        given.model_copy(update={"data": consent, "occurred_at": recorded}),
    ]


@pytest.mark.parametrize(
    "last_day",
    [
        date(2016, 6, 15),
        date(2016, 3, 26),
        date(2016, 3, 27),
        date(2016, 10, 29),
        date(2016, 10, 30),
    ],
    ids=["summer", "before-spring-forward", "spring-forward", "before-fall-back", "fall-back"],
)
def test_a_consent_holds_until_midnight_in_germany_after_its_last_day(last_day: date) -> None:
    """Valid until D: the view still holds IQ's consented registration at 23:59 Berlin on D,
    and no longer at 00:00 Berlin on D+1, also on the days the clocks change."""
    events = _consent_until(last_day)
    facts = recorded_facts(events)
    registration = events[0]
    last_minute = datetime.combine(last_day, time(23, 59), BERLIN_TZ).astimezone(UTC)
    midnight = datetime.combine(last_day + timedelta(days=1), time(0), BERLIN_TZ)

    assert judged(ViewId.PARTNER_IQ, registration, facts, last_minute) is not None
    assert judged(ViewId.PARTNER_IQ, registration, facts, midnight.astimezone(UTC)) is None
    assert midnight == end_of_day(last_day)
    assert facts.consent_lapses(day_of(last_minute), day_of(midnight))
    assert not facts.consent_lapses(day_of(last_minute - timedelta(hours=23)), day_of(last_minute))


def test_a_hand_over_orders_the_events_of_its_own_day_by_instant() -> None:
    """An Agentur event recorded in the morning of the hand-over day stays the Agentur's own
    (read-only) history; one recorded after the acceptance that afternoon is the Jobcenter's."""
    registered = sample("intake.person_registered.v2")
    accepted = sample("intake.hand_over_accepted.v1")
    contact = sample("intake.contact_recorded.v1")
    day = datetime(2016, 6, 1, tzinfo=BERLIN_TZ)
    handed = accepted.model_copy(update={"occurred_at": day + timedelta(hours=12)})
    morning = contact.model_copy(update={"occurred_at": day + timedelta(hours=9)})
    afternoon = contact.model_copy(update={"occurred_at": day + timedelta(hours=15)})
    facts = recorded_facts([registered, handed])
    now = day + timedelta(hours=16)

    before = judged(ViewId.AA_MG, morning, facts, now)
    after = judged(ViewId.AA_MG, afternoon, facts, now)

    assert before is not None
    assert (before.basis, before.read_only) == (LegalBasis.OWN_RESPONSIBILITY, True)
    assert after is None
    assert judged(ViewId.JC_MG, afternoon, facts, now) is not None
