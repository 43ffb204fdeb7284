"""Recognition's commands and contract: what is bad input before any state is read (422),
and the Bescheid's v1 events read as v2."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from contracts.recognition import (
    CompetentAuthority,
    DecisionIssued,
    Rechtsgrundlage,
    recognition_codec,
)
from services.recognition.commands import (
    IssueDecision,
    PermitProtectedTitle,
    RequestDocuments,
    SetReferenceOccupation,
)

PROC = "0192f1a0-9d00-7000-8000-00000000e001"
SAMPLES = Path(__file__).resolve().parents[2] / "contracts" / "samples"


def documents(**overrides: Any) -> RequestDocuments:
    fields = {
        "procedure_id": PROC,
        "documents": ["Arbeitszeugnisse"],
        "requested_on": "2016-04-04",
        "due_on": "2016-04-05",
    }
    return RequestDocuments.model_validate({**fields, **overrides})


def test_deadline_must_lie_after_the_request() -> None:
    """due_on == requested_on is refused; the next day is the earliest deadline."""
    assert documents().due_on == date(2016, 4, 5)
    with pytest.raises(ValidationError, match="due_on must lie after requested_on"):
        documents(due_on="2016-04-04")


def test_a_documents_request_names_documents() -> None:
    """An empty request is bad input."""
    with pytest.raises(ValidationError, match="at least 1 item"):
        documents(documents=[])


def decision(outcome: str, missing: list[str]) -> IssueDecision:
    return IssueDecision.model_validate(
        {
            "procedure_id": PROC,
            "outcome": outcome,
            "missing_competences": missing,
            "legal_basis": "bqfg",
            "decided_on": "2016-09-12",
        }
    )


def test_partial_recognition_lists_missing_competences() -> None:
    """A partial Bescheid without the missing competences is bad input."""
    assert decision("teilweise_gleichwertigkeit", ["VDE 0100"]).missing_competences == ("VDE 0100",)
    with pytest.raises(ValidationError, match="must list the missing competences"):
        decision("teilweise_gleichwertigkeit", [])


@pytest.mark.parametrize(
    "outcome",
    ["volle_gleichwertigkeit", "keine_gleichwertigkeit", "abgelehnt_mangelnde_mitwirkung"],
)
def test_only_partial_recognition_lists_missing_competences(outcome: str) -> None:
    """Missing competences on any other outcome are bad input."""
    with pytest.raises(ValidationError, match="only a partial recognition"):
        decision(outcome, ["VDE 0100"])


def test_the_event_keeps_the_partial_invariant() -> None:
    """The contract itself refuses a partial Bescheid without missing competences."""
    with pytest.raises(ValidationError, match="must list the missing competences"):
        DecisionIssued.model_validate(
            {
                "procedure_id": PROC,
                "authority": "hwk_duesseldorf",
                "reference_occupation": "26212",
                "outcome": "teilweise_gleichwertigkeit",
                "legal_basis": "bqfg",
                "decided_on": "2016-09-12",
            }
        )


@pytest.mark.parametrize(
    "authority",
    [a for a in CompetentAuthority if a is not CompetentAuthority.BEZIRKSREGIERUNG_DUESSELDORF],
)
def test_only_the_bezirksregierung_permits_ingenieur(authority: CompetentAuthority) -> None:
    """The title Ingenieur granted by any other body is bad input."""
    with pytest.raises(ValidationError, match="only bezirksregierung_duesseldorf permits"):
        PermitProtectedTitle.model_validate(
            {
                "procedure_id": PROC,
                "title": "ingenieur",
                "authority": authority,
                "granted_on": "2016-08-15",
            }
        )


def test_land_law_occupations_are_regulated() -> None:
    """A Referenzberuf under Land law marked unregulated is bad input."""
    with pytest.raises(ValidationError, match="is regulated"):
        SetReferenceOccupation.model_validate(
            {
                "procedure_id": PROC,
                "kldb": "83112",
                "title": "Erzieher/in",
                "regulated": False,
                "bereich": "landesrecht",
            }
        )


def test_decision_v1_reads_as_v2_under_the_bqfg() -> None:
    """A Bescheid written before the legal basis existed loads as v2 issued under the BQFG."""
    v1 = SAMPLES / "ip.recognition.procedure.v1" / "recognition.decision_issued.v1.json"

    envelope = recognition_codec.parse(v1.read_bytes())

    assert isinstance(envelope.data, DecisionIssued)
    assert envelope.schema_version == 2
    assert envelope.data.legal_basis is Rechtsgrundlage.BQFG
