"""What the Ausländerbehörde's view holds of a tolerated trainee: its own record with the
training contract, and nothing of the counselling, even where a consent names the office."""

from __future__ import annotations

from datetime import date

import pytest

from contracts.envelope import Agency
from contracts.intake import (
    Ausbildungsvertrag,
    DataCategory,
    Purpose,
    ResidenceStatus,
    ResidenceStatusRecorded,
)
from services.projections.purpose import AnyEvent, LegalBasis, ViewId
from tests.unit.test_projection_purpose import (
    competence,
    consent,
    contact,
    counselling,
    facts,
    grant,
    interpreter,
    placement_test,
    profile,
)

TRAINING = Ausbildungsvertrag(
    ausbildungsbetrieb="Tischlerei Beispiel GmbH, Mönchengladbach",
    ausbildungsberuf="22342",
    beginnt_am=date(2016, 9, 1),
    endet_am=date(2019, 8, 31),
)
AUSBILDUNGSDULDUNG = ResidenceStatusRecorded(
    status=ResidenceStatus.AUSBILDUNGSDULDUNG,
    valid_from=date(2016, 9, 1),
    valid_until=date(2019, 8, 31),
    stay_since=date(2015, 12, 20),
    ausbildung=TRAINING,
)
# Every counselling category, and a consent naming the Stadt for counselling them all.
EVERYTHING_FOR_COUNSELLING = consent(
    agency=Agency.STADT_MG,
    purposes=(Purpose.COUNSELLING, Purpose.PLACEMENT, Purpose.RECOGNITION),
    categories=tuple(DataCategory),
)


def test_the_auslaenderbehoerde_holds_the_training_contract_as_its_own_record() -> None:
    """The whole residence record, training company, occupation and dates included."""
    got = grant(ViewId.ABH_MG, AUSBILDUNGSDULDUNG, facts(AUSBILDUNGSDULDUNG))

    assert got is not None
    assert (got.basis, got.read_only) == (LegalBasis.AUFENTHG, False)
    assert got.fields is None or "ausbildung" in got.fields


def test_the_other_office_and_the_sozialamt_do_not() -> None:
    """The Kreis's office and the Stadt's Sozialamt hold no training contract of an MG case."""
    case = facts(AUSBILDUNGSDULDUNG)

    assert grant(ViewId.ABH_RKN, AUSBILDUNGSDULDUNG, case) is None
    assert grant(ViewId.SOZIALAMT_MG, AUSBILDUNGSDULDUNG, case) is None


@pytest.mark.parametrize(
    "event",
    [profile(), counselling(), competence(), placement_test(), contact(), interpreter()],
    ids=lambda e: e.type,
)
def test_nothing_of_the_counselling_even_with_a_consent_naming_the_office(
    event: AnyEvent,
) -> None:
    """Profile, recognition counselling, tests, contacts, interpreters: never, since no
    counselling purpose is the Ausländerbehörde's."""
    case = facts(AUSBILDUNGSDULDUNG, EVERYTHING_FOR_COUNSELLING)

    assert grant(ViewId.ABH_MG, event, case) is None
