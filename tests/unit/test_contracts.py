"""Contracts: golden samples of every topic parse (old versions through their upcasters),
envelopes round-trip, and personal fields are marked and sealed."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from pydantic import BaseModel, ValidationError

from contracts.intake import (
    BirthDatePrecision,
    ConsentGiven,
    FirstContactMade,
    IdentifierLinked,
    PersonRegistered,
    Recipient,
    intake_codec,
)
from contracts.personal import Sealed, personal_fields
from contracts.topics import CODECS

SAMPLES = Path(__file__).resolve().parents[2] / "contracts" / "samples"
ALL_SAMPLES = sorted(SAMPLES.glob("*/*.json"))


def _current_versions(topic: str) -> dict[str, int]:
    return CODECS[topic].current_versions


@pytest.mark.parametrize("topic", sorted(CODECS))
def test_every_event_type_has_a_golden_sample_at_its_current_version(topic: str) -> None:
    """Each event type of each topic has a committed sample of its newest schema version."""
    sampled = {
        (raw["type"], raw["schema_version"])
        for raw in (json.loads(p.read_text()) for p in (SAMPLES / topic).glob("*.json"))
    }

    assert set(_current_versions(topic).items()) <= sampled


@pytest.mark.parametrize("sample", ALL_SAMPLES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_golden_sample_parses(sample: Path) -> None:
    """Every sample parses; a current one round-trips to the same JSON, an old one is upcast
    (also one written before an optional field was added: it re-serialises without it)."""
    raw: dict[str, Any] = json.loads(sample.read_text())
    topic = sample.parent.name

    envelope = CODECS[topic].parse(raw)

    # <type>.v<version>.json, or with a shape: <type>.v<version>.<shape>.json
    assert re.fullmatch(
        rf"{re.escape(raw['type'])}\.v{raw['schema_version']}(\.[a-z_]+)?\.json", sample.name
    )
    assert envelope.schema_version == _current_versions(topic)[envelope.type]
    if raw["schema_version"] == envelope.schema_version:
        assert json.loads(envelope.model_dump_json()) == raw


def test_person_registered_v1_reads_as_precise_to_the_day() -> None:
    """The v1 registration, written before the precision existed, loads as v2 with DAY."""
    v1 = SAMPLES / "ip.intake.case.v1" / "intake.person_registered.v1.json"

    envelope = intake_codec.parse(v1.read_bytes())

    assert isinstance(envelope.data, PersonRegistered)
    assert envelope.schema_version == 2
    assert envelope.data.date_of_birth_precision is BirthDatePrecision.DAY


def _unsealed_personal_values(model: BaseModel, path: str) -> list[str]:
    found = [
        f"{path}{field}"
        for field in personal_fields(type(model))
        if getattr(model, field) is not None and not isinstance(getattr(model, field), Sealed)
    ]
    for field in type(model).model_fields:
        value = getattr(model, field)
        parts = value if isinstance(value, tuple) else (value,)
        for index, part in enumerate(parts):
            if isinstance(part, BaseModel) and not isinstance(part, Sealed):
                found += _unsealed_personal_values(part, f"{path}{field}.{index}.")
    return found


def test_personal_fields_in_samples_are_sealed() -> None:
    """On the wire, every personal field is sealed, nested ones too: no plaintext at all."""
    for sample in ALL_SAMPLES:
        data = CODECS[sample.parent.name].parse(sample.read_bytes()).data
        assert _unsealed_personal_values(data, "") == [], sample.name


def test_personal_fields_are_marked() -> None:
    """Names, the birth date and identifiers are personal, optional ones too; codes are not."""
    assert set(personal_fields(PersonRegistered)) == {"given_name", "family_name", "date_of_birth"}
    assert personal_fields(IdentifierLinked) == ("value",)
    assert personal_fields(ConsentGiven) == ("guardian_name", "witness_name")
    assert personal_fields(Recipient) == ("named_person",)
    assert personal_fields(FirstContactMade) == ()


def _envelope(**overrides: Any) -> dict[str, Any]:
    return {
        "event_id": uuid4(),
        "case_id": uuid4(),
        "stream_version": 1,
        "type": "intake.first_contact_made",
        "schema_version": 1,
        "occurred_at": datetime(2016, 2, 9, tzinfo=UTC),
        "agency": "AA-MG",
        "correlation_id": uuid4(),
        "data": {"type": "intake.first_contact_made", "contacted_on": date(2016, 2, 9)},
        **overrides,
    }


def test_envelope_type_must_match_payload() -> None:
    """An envelope that claims another type than its payload is refused."""
    with pytest.raises(ValidationError, match="envelope says"):
        intake_codec.parse(_envelope(type="intake.case_closed"))


def test_naive_timestamps_are_refused() -> None:
    """occurred_at must carry a time zone."""
    with pytest.raises(ValidationError, match="timezone"):
        intake_codec.parse(_envelope(occurred_at="2016-02-09T10:00:00"))


def test_unknown_event_type_is_refused() -> None:
    """A type the topic does not carry fails validation (and is parked by consumers)."""
    with pytest.raises(ValidationError):
        intake_codec.parse(
            _envelope(type="intake.unknown", data={"type": "intake.unknown", "schema_version": 1})
        )
