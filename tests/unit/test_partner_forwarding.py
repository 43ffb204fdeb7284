"""What a network partner's feed may pass on: the purpose rules' consent rule, narrowed to the
partner's subscription (one purpose, some categories); an employer's, to its own organisation
and the fields DOMAIN.md allows; and the partner's pseudonyms."""

from __future__ import annotations

from datetime import date
from uuid import uuid4

import pytest

from contracts.envelope import Agency
from contracts.intake import (
    ConsentGiven,
    ConsentWithdrawn,
    DataCategory,
    Partner,
    Purpose,
    ReferredToPartner,
)
from contracts.placement import PermissionDecided
from services.projections.forwarding import (
    Subscription,
    forwarded_data,
    forwarding,
    names_subscriber,
)
from services.projections.partner_feed import pseudonym
from services.projections.purpose import case_facts
from tests.unit.test_projection_purpose import (
    BEFORE,
    CONSENT,
    LATER,
    TODAY,
    ba_consent,
    consent,
    counselling,
    permission_refused,
    permission_requested,
    placement_started,
    profile,
    registered,
    residence,
    residence_facts,
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


# --- employers --------------------------------------------------------------------------------

SCHMITZ, HANSEN = "12345678", "87654321"  # two employers' Betriebsnummern
EMPLOYER_CATEGORIES = frozenset(
    {DataCategory.PROFILE, DataCategory.PLACEMENT, DataCategory.RESIDENCE}
)  # subscribed broadly on purpose: the employer rule, not the subscription, must hold back


def employer(organisation: str) -> Subscription:
    return Subscription(Partner.EMPLOYER, Purpose.PLACEMENT, EMPLOYER_CATEGORIES, organisation)


def employer_consent(organisation: str | None) -> ConsentGiven:
    return consent(
        partner=Partner.EMPLOYER,
        organisation=organisation,
        purposes=(Purpose.PLACEMENT,),
        categories=(DataCategory.PROFILE, DataCategory.PLACEMENT, DataCategory.RESIDENCE),
    )


def permission_granted() -> PermissionDecided:
    return PermissionDecided(
        request_id=uuid4(),
        granted=True,
        valid_until=date(2017, 4, 1),
        restrictions=("nur als Elektrohelfer bei Elektro Schmitz GmbH",),
        decided_on=BEFORE,
        rule_version="beschv-2016-08",
    )


def test_an_employer_named_in_the_consent_gets_the_profile_and_the_permission_decisions() -> None:
    """The consent names Schmitz: Schmitz's feed passes the profile and both decisions on."""
    case = case_facts([registered(), employer_consent(SCHMITZ)])

    for event in (profile(), permission_refused(), permission_granted()):
        assert forwarding(employer(SCHMITZ), event, case, TODAY) == CONSENT, event.type


def test_an_employer_never_gets_the_ba_consent_the_request_or_the_residence_history() -> None:
    """Though the consent covers placement and residence and the subscription lists them:
    no Vorrangprüfung, no request, no placement, no residence status reaches an employer."""
    case = case_facts([registered(), employer_consent(SCHMITZ)])

    for event in (
        ba_consent(),
        permission_requested(),
        placement_started(),
        residence(),
        residence_facts(),
    ):
        assert forwarding(employer(SCHMITZ), event, case, TODAY) is None, event.type


def test_another_employer_or_employers_in_general_get_nothing() -> None:
    """A consent naming Schmitz opens nothing to Hansen; one naming "employer" without an
    organisation (written before employers were told apart) opens nothing to any employer."""
    named = case_facts([registered(), employer_consent(SCHMITZ)])
    general = case_facts([registered(), employer_consent(None)])

    for event in (profile(), permission_granted()):
        assert forwarding(employer(HANSEN), event, named, TODAY) is None
        assert forwarding(employer(SCHMITZ), event, general, TODAY) is None


def test_an_employer_receives_only_granted_and_until_of_a_decision() -> None:
    """What is sealed for the employer: request, granted, until when, decided on, never the
    refusal reason, restrictions or rule version; the profile whole; others' data untouched."""
    for decision in (permission_refused(), permission_granted()):
        data = decision.model_dump(mode="json")
        sent = forwarded_data(employer(SCHMITZ), decision.type, data)
        assert set(sent) == {"type", "request_id", "granted", "valid_until", "decided_on"}
        assert (sent["granted"], sent["valid_until"]) == (data["granted"], data["valid_until"])
    shown = profile().model_dump(mode="json")
    assert forwarded_data(employer(SCHMITZ), "intake.profile_recorded", shown) == shown
    refused = permission_refused().model_dump(mode="json")
    assert forwarded_data(IQ_RECOGNITION, refused["type"], refused) == refused


def test_an_employer_subscribes_as_one_organisation_for_placement() -> None:
    """Without a Betriebsnummer, with a malformed one, or for another purpose: refused; no
    other partner subscribes as an organisation. Each employer has a name of its own."""
    for organisation in (None, "Schmitz", "1234567"):
        with pytest.raises(ValueError, match="Betriebsnummer"):
            Subscription(Partner.EMPLOYER, Purpose.PLACEMENT, EMPLOYER_CATEGORIES, organisation)
    with pytest.raises(ValueError, match="placement only"):
        Subscription(Partner.EMPLOYER, Purpose.COUNSELLING, EMPLOYER_CATEGORIES, SCHMITZ)
    with pytest.raises(ValueError, match="only an employer"):
        Subscription(Partner.IQ_COUNSELLING, Purpose.RECOGNITION, frozenset(), SCHMITZ)
    assert (employer(SCHMITZ).name, employer(HANSEN).name) == (
        "employer_12345678",
        "employer_87654321",
    )
    assert IQ_RECOGNITION.name == "iq_counselling"


def test_a_consent_names_the_subscriber_for_its_purpose() -> None:
    """The feed judges a case when the consent names it: an employer by its organisation."""
    assert names_subscriber(employer(SCHMITZ), employer_consent(SCHMITZ))
    assert not names_subscriber(employer(HANSEN), employer_consent(SCHMITZ))
    assert not names_subscriber(employer(SCHMITZ), employer_consent(None))
    assert names_subscriber(IQ_RECOGNITION, GIVEN)
    assert not names_subscriber(IQ_RECOGNITION, employer_consent(SCHMITZ))
