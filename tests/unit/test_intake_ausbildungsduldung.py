"""The Ausbildungsduldung in intake: recorded by the Ausländerbehörde with its training
contract; the Agentur stays responsible (no SGB II, no hand-over), and the case stays open."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import pytest
from pydantic import ValidationError

from contracts.envelope import Agency
from contracts.intake import (
    AsylumOutcome,
    Ausbildungsvertrag,
    ClosingReason,
    HandOverReason,
    ResidenceStatus,
    ResidenceStatusRecorded,
)
from services.chassis.rules import InvalidTransitionError
from services.intake.commands import (
    CloseCase,
    RecordAsylumDecision,
    RecordResidenceStatus,
    RecordSgbIIApplication,
    RequestHandOver,
)
from tests.unit.intake_builders import Story

CONTRACT: dict[str, Any] = {
    "ausbildungsbetrieb": "Tischlerei Beispiel GmbH, Mönchengladbach",
    "ausbildungsberuf": "22342",
    "beginnt_am": date(2016, 9, 1),
    "endet_am": date(2019, 8, 31),
}


def ausbildungsduldung(**overrides: Any) -> RecordResidenceStatus:
    fields: dict[str, Any] = {
        "status": ResidenceStatus.AUSBILDUNGSDULDUNG,
        "valid_from": date(2016, 9, 1),
        "valid_until": date(2019, 8, 31),
        "stay_since": date(2015, 12, 20),
        "ausbildung": CONTRACT,
    }
    return RecordResidenceStatus.model_validate(fields | overrides)


def refused(story: Story, command: object, acting: Agency = Agency.AA_MG) -> str:
    with pytest.raises(InvalidTransitionError) as error:
        story.then(command, acting)  # type: ignore[arg-type]
    return error.value.rule


def tolerated_trainee(outcome: AsylumOutcome = AsylumOutcome.ABGELEHNT) -> Story:
    """Asylum decided, then the Ausländerbehörde records the Ausbildungsduldung."""
    story = Story().with_package_basics()
    story.then(RecordAsylumDecision(outcome=outcome, decided_on=date(2016, 6, 1)))
    story.then(ausbildungsduldung(), acting=Agency.STADT_MG)
    return story


def test_the_auslaenderbehoerde_records_it_with_the_training_contract() -> None:
    """The event carries the training company, occupation, first and last day."""
    story = Story()

    [recorded] = story.then(ausbildungsduldung(), acting=Agency.STADT_MG)

    assert isinstance(recorded, ResidenceStatusRecorded)
    assert recorded.status is ResidenceStatus.AUSBILDUNGSDULDUNG
    assert recorded.ausbildung == Ausbildungsvertrag.model_validate(CONTRACT)
    assert story.case().residence_status is ResidenceStatus.AUSBILDUNGSDULDUNG


def test_an_ausbildungsduldung_without_its_contract_is_bad_input() -> None:
    """422 naming the field: the Duldung is granted for the contract's duration."""
    with pytest.raises(ValidationError) as error:
        ausbildungsduldung(ausbildung=None)

    [problem] = error.value.errors()
    assert problem["loc"] == ("ausbildung",)
    assert "needs its training contract" in problem["msg"]


def test_a_training_contract_on_another_status_is_bad_input() -> None:
    """Only an Ausbildungsduldung carries a training contract."""
    with pytest.raises(ValidationError) as error:
        ausbildungsduldung(status=ResidenceStatus.DULDUNG)

    assert [p["loc"] for p in error.value.errors()] == [("ausbildung",)]


def test_a_training_that_ends_before_it_begins_is_bad_input() -> None:
    """The contract's last day lies after its first."""
    with pytest.raises(ValidationError, match="endet_am must lie after beginnt_am"):
        ausbildungsduldung(ausbildung=CONTRACT | {"endet_am": date(2016, 9, 1)})


def test_there_is_no_ausbildungsduldung_before_6_august_2016() -> None:
    """§ 60a (2) S. 4 AufenthG entered into force on 6 Aug 2016: a day earlier is refused."""
    story = Story()

    too_early = ausbildungsduldung(valid_from=date(2016, 8, 5))

    assert refused(story, too_early, Agency.STADT_MG) == (
        "residence.ausbildungsduldung_not_yet_in_force"
    )
    assert story.then(ausbildungsduldung(valid_from=date(2016, 8, 6)), acting=Agency.STADT_MG)


@pytest.mark.parametrize("outcome", [AsylumOutcome.ABGELEHNT, AsylumOutcome.ABSCHIEBUNGSVERBOT])
def test_no_sgb2_application_and_the_agentur_stays_responsible(outcome: AsylumOutcome) -> None:
    """Tolerated means AsylbLG, not SGB II: the application is refused, whatever the BAMF
    decided before, and the Agentur stays responsible."""
    story = tolerated_trainee(outcome)

    rule = refused(story, RecordSgbIIApplication(applied_on=date(2016, 9, 20)))

    assert rule == "sgb2.not_with_ausbildungsduldung"
    assert story.case().responsible is Agency.AA_MG
    assert story.case().pending is None


def test_no_hand_over_to_a_jobcenter_is_requested() -> None:
    """A Rechtskreiswechsel requested by hand is refused with the rule that says why."""
    story = tolerated_trainee(AsylumOutcome.ABSCHIEBUNGSVERBOT)
    to_jobcenter = RequestHandOver(
        handover_id=UUID("0192f1a0-7c40-7000-8000-0000000000cc"),
        to_agency=Agency.JC_MG,
        reason=HandOverReason.RECHTSKREISWECHSEL,
        requested_on=date(2016, 9, 20),
    )

    assert refused(story, to_jobcenter) == "hand_over.ausbildungsduldung_stays_with_agentur"
    assert story.case().responsible is Agency.AA_MG


def test_the_training_is_no_exit_the_case_stays_open() -> None:
    """Closing for 'apprenticeship' is refused; leaving Germany still closes the case."""
    story = tolerated_trainee()

    apprenticeship = CloseCase(reason=ClosingReason.APPRENTICESHIP, closed_on=date(2016, 9, 2))

    assert refused(story, apprenticeship) == "case.ausbildungsduldung_stays_open"
    assert story.case().closed_on is None
    assert story.then(CloseCase(reason=ClosingReason.LEFT_GERMANY, closed_on=date(2017, 1, 2)))
