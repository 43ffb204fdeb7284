"""The language topic's contract: the v1 exam loads as v2, and an entitlement's issuing
agency always acts as its issuer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from contracts.language import TOPIC, EntitlementIssued, ExamTaken, language_codec
from contracts.topics import CODECS, LANGUAGE_TOPIC

SAMPLES = Path(__file__).resolve().parents[2] / "contracts" / "samples" / TOPIC


def test_topic_is_the_platforms_language_topic() -> None:
    """The contract's topic is the one the platform names, and its codec is registered."""
    assert TOPIC == LANGUAGE_TOPIC
    assert CODECS[TOPIC] is language_codec


def test_exam_taken_v1_reads_as_v2_without_a_certificate_number() -> None:
    """An exam recorded before certificate numbers existed loads as v2 with none."""
    envelope = language_codec.parse((SAMPLES / "language.exam_taken.v1.json").read_bytes())

    assert isinstance(envelope.data, ExamTaken)
    assert envelope.schema_version == envelope.data.schema_version == 2
    assert envelope.data.certificate_number is None
    assert envelope.data.result == "B2"


def test_exam_taken_v2_keeps_its_certificate_number() -> None:
    """The current sample carries the certificate number through a round trip."""
    raw = json.loads((SAMPLES / "language.exam_taken.v2.json").read_text())

    envelope = language_codec.parse(raw)

    assert isinstance(envelope.data, ExamTaken)
    assert envelope.data.certificate_number == raw["data"]["certificate_number"]


@pytest.mark.parametrize(
    ("issuer", "agency"),
    [("agentur", "JC-MG"), ("jobcenter", None), ("bamf", "AA-MG"), ("abh", "AA-MG")],
)
def test_entitlement_event_refuses_an_agency_that_is_not_its_issuer(
    issuer: str, agency: str | None
) -> None:
    """On the wire too, the issuing agency matches the issuer; the BAMF names none."""
    with pytest.raises(ValidationError):
        EntitlementIssued.model_validate(
            {
                "entitlement_id": "0192f1a0-9a00-7000-8000-00000000e001",
                "course_type": "berufssprachkurs_spezial",
                "kind": "berechtigung",
                "issuer": issuer,
                "issuing_agency": agency,
                "issued_on": "2016-09-01",
            }
        )
