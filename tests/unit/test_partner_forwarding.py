"""What a network partner's feed may pass on: the purpose rules' consent rule, narrowed to the
partner's subscription (one purpose, some categories); and the partner's pseudonyms."""

from __future__ import annotations

from datetime import date
from uuid import uuid4

from contracts.envelope import Agency
from contracts.intake import (
    ConsentWithdrawn,
    DataCategory,
    Partner,
    Purpose,
    ReferredToPartner,
)
from services.projections.forwarding import Subscription, forwarding
from services.projections.partner_feed import pseudonym
from services.projections.purpose import case_facts
from tests.unit.test_projection_purpose import (
    BEFORE,
    CONSENT,
    LATER,
    TODAY,
    consent,
    counselling,
    profile,
    registered,
)

IQ_RECOGNITION = Subscription(
    Partner.IQ_COUNSELLING, Purpose.RECOGNITION, frozenset({DataCategory.RECOGNITION})
)
GIVEN = consent(
    partner=Partner.IQ_COUNSELLING,
    purposes=(Purpose.RECOGNITION,),
    categories=(DataCategory.RECOGNITION, DataCategory.PROFILE),
)


def test_a_consent_naming_partner_purpose_and_category_lets_the_event_through() -> None:
    """Recognition data of a person who consented to IQ for recognition: passed on."""
    case = case_facts([registered(), GIVEN])

    assert forwarding(IQ_RECOGNITION, counselling(), case, TODAY) == CONSENT


def test_a_consented_category_the_partner_did_not_subscribe_to_stays_back() -> None:
    """The consent covers the profile, the subscription does not: not passed on."""
    case = case_facts([registered(), GIVEN])

    assert forwarding(IQ_RECOGNITION, profile(), case, TODAY) is None


def test_another_purpose_another_partner_or_no_consent_stays_back() -> None:
    """The consent must name this partner and the subscription's purpose."""
    other_purpose = consent(
        partner=Partner.IQ_COUNSELLING,
        purposes=(Purpose.COUNSELLING,),
        categories=(DataCategory.RECOGNITION,),
    )
    other_partner = consent(
        partner=Partner.JUGENDBERUFSAGENTUR,
        purposes=(Purpose.RECOGNITION,),
        categories=(DataCategory.RECOGNITION,),
    )
    an_agency = consent(
        agency=Agency.JC_MG, purposes=(Purpose.RECOGNITION,), categories=(DataCategory.RECOGNITION,)
    )
    for given in (other_purpose, other_partner, an_agency):
        assert (
            forwarding(IQ_RECOGNITION, counselling(), case_facts([registered(), given]), TODAY)
            is None
        )
    assert forwarding(IQ_RECOGNITION, counselling(), case_facts([registered()]), TODAY) is None


def test_nothing_passes_before_the_consent_or_after_its_end() -> None:
    """Valid from the day it was given until the day it was withdrawn (or expired)."""
    withdrawn = case_facts(
        [registered(), GIVEN, ConsentWithdrawn(consent_id=CONSENT, withdrawn_on=LATER)]
    )

    assert forwarding(IQ_RECOGNITION, counselling(), withdrawn, date(2016, 3, 1)) is None  # before
    assert forwarding(IQ_RECOGNITION, counselling(), withdrawn, BEFORE) == CONSENT
    assert forwarding(IQ_RECOGNITION, counselling(), withdrawn, LATER) is None
    expiring = consent(
        partner=Partner.IQ_COUNSELLING,
        purposes=(Purpose.RECOGNITION,),
        categories=(DataCategory.RECOGNITION,),
        valid_until=LATER,
    )
    assert (
        forwarding(IQ_RECOGNITION, counselling(), case_facts([registered(), expiring]), TODAY)
        is None
    )


def test_the_case_administration_is_never_passed_on() -> None:
    """Referrals, consents, hand-overs carry no category: a partner's feed never gets them."""
    case = case_facts([registered(), GIVEN])
    referral = ReferredToPartner(
        referral_id=uuid4(),
        partner=Partner.IQ_COUNSELLING,
        purpose=Purpose.RECOGNITION,
        referred_on=BEFORE,
    )

    assert forwarding(IQ_RECOGNITION, referral, case, TODAY) is None
    assert forwarding(IQ_RECOGNITION, GIVEN, case, TODAY) is None


def test_pseudonyms_are_stable_per_partner_and_differ_between_partners() -> None:
    """The same person has one name for a partner, another for the next, never the case id."""
    case_id, one, other = uuid4(), b"k" * 32, b"j" * 32

    assert pseudonym(one, case_id) == pseudonym(one, case_id)
    assert pseudonym(one, case_id) != pseudonym(other, case_id)
    assert str(case_id) not in pseudonym(one, case_id)
    assert case_id.hex not in pseudonym(one, case_id)
