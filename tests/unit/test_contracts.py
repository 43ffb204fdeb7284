"""Contracts: golden samples parse, envelopes round-trip, personal fields are marked."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from uuid import uuid4

import pytest
from pydantic import ValidationError

from contracts.intake import FirstContactMade, PersonRegistered, intake_envelope
from contracts.personal import Sealed, personal_fields

SAMPLES = Path(__file__).resolve().parents[2] / "contracts" / "samples"
INTAKE_SAMPLES = sorted((SAMPLES / "ip.intake.case.v1").glob("*.json"))


def test_every_intake_event_type_has_a_golden_sample() -> None:
    """Each event type of the intake topic has at least one committed sample."""
    sampled = {json.loads(path.read_text())["type"] for path in INTAKE_SAMPLES}

    assert sampled == {"intake.person_registered", "intake.first_contact_made"}


@pytest.mark.parametrize("sample", INTAKE_SAMPLES, ids=lambda path: path.name)
def test_golden_sample_parses_and_round_trips(sample: Path) -> None:
    """A golden sample parses, and serialising it again gives the same JSON."""
    raw = json.loads(sample.read_text())

    envelope = intake_envelope.validate_python(raw)

    assert json.loads(envelope.model_dump_json()) == raw
    assert sample.name.startswith(f"{envelope.type}.v{envelope.schema_version}")


def test_personal_fields_in_samples_are_sealed() -> None:
    """On the wire, every personal field is sealed: no plaintext name or birth date."""
    registered = SAMPLES / "ip.intake.case.v1" / "intake.person_registered.v1.json"
    envelope = intake_envelope.validate_json(registered.read_text())

    assert isinstance(envelope.data, PersonRegistered)
    for field in personal_fields(PersonRegistered):
        assert isinstance(getattr(envelope.data, field), Sealed), field


def test_personal_fields_are_marked() -> None:
    """Names and the birth date are personal; dates and codes are not."""
    assert set(personal_fields(PersonRegistered)) == {"given_name", "family_name", "date_of_birth"}
    assert personal_fields(FirstContactMade) == ()


def test_envelope_type_must_match_payload() -> None:
    """An envelope that claims another type than its payload is refused."""
    with pytest.raises(ValidationError, match="envelope says"):
        intake_envelope.validate_python(
            {
                "event_id": uuid4(),
                "case_id": uuid4(),
                "stream_version": 1,
                "type": "intake.person_registered",
                "schema_version": 1,
                "occurred_at": datetime(2016, 2, 9, tzinfo=UTC),
                "agency": "AA-MG",
                "correlation_id": uuid4(),
                "data": FirstContactMade(contacted_on=date(2016, 2, 9)),
            }
        )


def test_naive_timestamps_are_refused() -> None:
    """occurred_at must carry a time zone."""
    with pytest.raises(ValidationError, match="timezone"):
        intake_envelope.validate_python(
            {
                "event_id": uuid4(),
                "case_id": uuid4(),
                "stream_version": 1,
                "type": "intake.first_contact_made",
                "schema_version": 1,
                "occurred_at": "2016-02-09T10:00:00",
                "agency": "AA-MG",
                "correlation_id": uuid4(),
                "data": {"type": "intake.first_contact_made", "contacted_on": "2016-02-09"},
            }
        )
