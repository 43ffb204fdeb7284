"""What intake keeps of the other services' events for the hand-over package."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from contracts.topics import CODECS
from services.intake.milestones import FactKind, MilestoneFact, facts_of

SAMPLES = Path(__file__).resolve().parents[2] / "contracts" / "samples"


def sample(topic: str, name: str) -> Any:
    return CODECS[topic].parse((SAMPLES / topic / f"{name}.json").read_bytes())


@pytest.mark.parametrize(
    ("topic", "name", "kind", "ended"),
    [
        ("ip.language.path.v1", "language.placement_test_taken.v1", FactKind.LANGUAGE_LEVEL, None),
        ("ip.language.path.v1", "language.enrolment_started.v1", FactKind.COURSE, False),
        ("ip.language.path.v1", "language.enrolment_ended.v1", FactKind.COURSE, True),
        ("ip.recognition.procedure.v1", "recognition.decision_issued.v2", FactKind.RECOGNITION,
         None),
        ("ip.recognition.procedure.v1", "recognition.adaptation_started.v1",
         FactKind.RECOGNITION, None),
    ],
)  # fmt: skip
def test_milestone_events_become_keyed_facts(
    topic: str, name: str, kind: FactKind, ended: bool | None
) -> None:
    """Each milestone event yields one fact of its kind, keyed by the item it concerns."""
    facts = facts_of(sample(topic, name))

    assert [(f.kind, f.ended) for f in facts] == [(kind, ended)]


def test_a_passed_exam_sets_a_level_and_a_failed_one_does_not() -> None:
    """A failed exam (no result) says nothing about the level."""
    passed = sample("ip.language.path.v1", "language.exam_taken.v2")
    failed = passed.model_copy(update={"data": passed.data.model_copy(update={"result": None})})

    assert facts_of(passed) == [
        MilestoneFact(FactKind.LANGUAGE_LEVEL, str(passed.event_id), passed.data.result)
    ]
    assert facts_of(failed) == []


def test_the_decision_names_its_outcome() -> None:
    """The recognition state carries the decision's outcome."""
    decision = sample("ip.recognition.procedure.v1", "recognition.decision_issued.v2")

    (fact,) = facts_of(decision)

    assert fact.label == f"decision:{decision.data.outcome.value}"
    assert fact.item == str(decision.data.procedure_id)


def test_other_events_carry_no_milestone() -> None:
    """Attendance and entitlements are not part of the package."""
    assert facts_of(sample("ip.language.path.v1", "language.attendance_recorded.v1")) == []
