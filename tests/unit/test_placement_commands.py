"""Placement's commands refuse bad input before any state is read (HTTP 422), and its
contract reads old event versions."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from contracts.placement import PlacementStarted, placement_codec
from services.placement.commands import DecidePermission, ReceiveOpening, StartPlacement
from tests.unit.placement_builders import REQUEST, helper_job, request

SAMPLES = Path(__file__).resolve().parents[2] / "contracts" / "samples" / "ip.placement.case.v1"


def test_start_before_the_request_is_bad_input() -> None:
    """A job cannot start before the permission was asked for."""
    with pytest.raises(ValidationError, match="start_date lies before requested_on"):
        request(start_date=date(2016, 9, 4), requested_on=date(2016, 9, 5))


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"granted": True}, "needs valid_until"),
        ({"granted": True, "valid_until": "2016-09-13"}, "valid_until lies before decided_on"),
        (
            {"granted": True, "valid_until": "2016-10-03", "refusal_reason": "x"},
            "has no refusal_reason",
        ),
        ({"granted": False}, "a refusal has a refusal_reason"),
        (
            {"granted": False, "refusal_reason": "x", "valid_until": "2016-10-03"},
            "no valid_until or restrictions",
        ),
    ],
)
def test_permission_decision_is_a_grant_or_a_refusal(fields: dict[str, Any], reason: str) -> None:
    """A grant has an end date and no reason; a refusal has a reason and nothing else."""
    with pytest.raises(ValidationError, match=reason):
        DecidePermission.model_validate(
            {"request_id": REQUEST, "decided_on": "2016-09-14"} | fields
        )


@pytest.mark.parametrize(
    ("kind", "skill_level", "reason"),
    [
        ("beschaeftigung", None, "needs its skill_level"),
        ("ausbildung", "fachkraft", "has no skill_level"),
        ("einstiegsqualifizierung", "helfer", "has no skill_level"),
    ],
)
def test_skill_level_belongs_to_jobs(kind: str, skill_level: str | None, reason: str) -> None:
    """Jobs carry their skill level; training does not."""
    with pytest.raises(ValidationError, match=reason):
        ReceiveOpening.model_validate(
            {
                "opening_id": REQUEST,
                "employer": "Autohaus Neuss",
                "kldb": "25212",
                "kind": kind,
                "skill_level": skill_level,
                "received_on": "2016-08-29",
            }
        )
    with pytest.raises(ValidationError, match=reason):
        helper_job(kind=kind, skill_level=skill_level)


def test_minijob_may_name_a_skill_level_or_not() -> None:
    """A minijob's skill level is optional."""
    assert helper_job(kind="minijob", skill_level=None).skill_level is None


def test_assistierte_ausbildung_accompanies_training_only() -> None:
    """AsA on a job is bad input; on an apprenticeship or EQ it is fine."""
    with pytest.raises(ValidationError, match="Assistierte Ausbildung accompanies"):
        helper_job(with_assistierte_ausbildung=True)
    assert helper_job(kind="ausbildung", skill_level=None, with_assistierte_ausbildung=True)


def test_commands_refuse_unknown_fields() -> None:
    """A misspelt field is an error, not silently dropped."""
    with pytest.raises(ValidationError, match="Extra inputs"):
        StartPlacement.model_validate(helper_job().model_dump() | {"employer_name": "x"})


def test_placement_started_v1_reads_as_v2_without_an_occupation() -> None:
    """The v1 start, written before the KldB code existed, loads as v2 with kldb None."""
    v1 = SAMPLES / "placement.placement_started.v1.json"

    envelope = placement_codec.parse(v1.read_bytes())

    assert isinstance(envelope.data, PlacementStarted)
    assert envelope.schema_version == 2
    assert envelope.data.schema_version == 2
    assert envelope.data.kldb is None
    assert envelope.data.work_permission_request_id is not None
