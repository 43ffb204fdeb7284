"""Intake's pure rules beyond registration: who may act, residence, consent, interpreters,
profile completeness, Rechtskreiswechsel and every hand-over rule, with their boundaries."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import UUID

import pytest
from pydantic import ValidationError

from contracts.common import Site
from contracts.envelope import Agency
from contracts.intake import (
    ClosingReason,
    ConsentExpired,
    ContactChannel,
    HandOverAccepted,
    HandOverReason,
    HandOverRequested,
    IdentifierKind,
    InterpreterRequested,
    Partner,
    ProfileRecorded,
    Purpose,
    ResidenceStatus,
    SgbIIApplicationRecorded,
)
from services.chassis.rules import InvalidTransitionError
from services.intake.commands import (
    AcceptHandOver,
    AssignInterpreter,
    CloseCase,
    ErasePerson,
    ExpireConsent,
    ImposeWohnsitzauflage,
    LinkIdentifier,
    RecordContact,
    RecordFirstContact,
    RecordInterpreterSession,
    RecordProfile,
    RecordResidenceStatus,
    RecordSgbIIApplication,
    ReferToPartner,
    RejectHandOver,
    RequestHandOver,
    RequestInterpreter,
    WithdrawConsent,
)
from tests.unit.intake_builders import Story, consent, register

HANDOVER = UUID("0192f1a0-7c40-7000-8000-0000000000aa")
REQUEST = UUID("0192f1a0-7c40-7000-8000-0000000000bb")


def sgb2_hand_over(story: Story) -> HandOverRequested:
    """Record the SGB II application and return the hand-over it requested."""
    produced = story.then(RecordSgbIIApplication(applied_on=date(2016, 6, 20)))
    assert isinstance(produced[1], HandOverRequested)
    return produced[1]


def refused(story: Story, command: object, acting: Agency = Agency.AA_MG) -> str:
    with pytest.raises(InvalidTransitionError) as error:
        story.then(command, acting)  # type: ignore[arg-type]
    return error.value.rule


# --- who may act ---------------------------------------------------------------------------


def test_only_the_responsible_agency_changes_a_case() -> None:
    """A Jobcenter cannot record for a case the Agentur is responsible for."""
    story = Story()
    command = RecordFirstContact(contacted_on=date(2016, 2, 9))

    assert refused(story, command, acting=Agency.JC_MG) == "case.only_responsible_agency_changes"


def test_the_local_auslaenderbehoerde_records_residence_facts() -> None:
    """Stadt MG's ABH may record the residence status of an MG case; the district's may not."""
    story = Story()
    status = RecordResidenceStatus(
        status=ResidenceStatus.DULDUNG, valid_from=date(2016, 3, 1), stay_since=date(2016, 1, 1)
    )

    assert story.then(status, acting=Agency.STADT_MG)
    assert refused(story, status, acting=Agency.RKN) == (
        "case.residence_facts_by_responsible_agency_or_abh"
    )


def test_an_identifier_kind_is_linked_once() -> None:
    """A second BAMF file number is refused."""
    story = Story()
    story.then(LinkIdentifier(kind=IdentifierKind.BAMF_AKTENZEICHEN, value="1"))

    rule = refused(story, LinkIdentifier(kind=IdentifierKind.BAMF_AKTENZEICHEN, value="2"))

    assert rule == "identifier.already_linked"


def test_later_contacts_follow_the_first_contact() -> None:
    """A contact before the first contact is refused; on the same day it is fine."""
    story = Story()
    assert refused(
        story, RecordContact(contacted_on=date(2016, 2, 9), channel=ContactChannel.PHONE)
    ) == ("contact.after_first_contact")
    story.then(RecordFirstContact(contacted_on=date(2016, 2, 9)))

    assert story.then(RecordContact(contacted_on=date(2016, 2, 9), channel=ContactChannel.PHONE))
    assert refused(
        story, RecordContact(contacted_on=date(2016, 2, 8), channel=ContactChannel.PHONE)
    ) == ("contact.after_first_contact")


def test_residence_dates_are_validated_on_the_command() -> None:
    """valid_until must follow valid_from (422, not 409)."""
    with pytest.raises(ValidationError, match="valid_until must lie after valid_from"):
        RecordResidenceStatus(
            status=ResidenceStatus.DULDUNG,
            valid_from=date(2016, 3, 1),
            valid_until=date(2016, 3, 1),
            stay_since=date(2016, 1, 1),
        )


def test_a_closed_case_takes_no_more_commands() -> None:
    """After closing, everything is refused."""
    story = Story()
    story.then(CloseCase(reason=ClosingReason.LEFT_GERMANY, closed_on=date(2016, 5, 1)))

    assert refused(story, RecordFirstContact(contacted_on=date(2016, 5, 2))) == "case.closed"


# --- consent -------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["purposes", "recipients", "data_categories"])
def test_blanket_consent_is_refused_with_a_clear_error(field: str) -> None:
    """A consent that names no purpose, recipient or category is no consent at all."""
    with pytest.raises(ValidationError, match=f"blanket consent is not allowed: .*{field}"):
        consent(**{field: []})


def test_a_consent_names_each_employer_by_its_organisation() -> None:
    """ "Employers" in general is refused at ``recipients``; one named by its Betriebsnummer
    is taken; an organisation on any other recipient, or a malformed one, is refused."""
    with pytest.raises(ValidationError, match="named by its organisation") as general:
        consent(recipients=[{"partner": "employer"}])
    assert general.value.errors()[0]["loc"] == ("recipients",)

    named = consent(recipients=[{"partner": "employer", "organisation": "12345678"}])

    assert named.recipients[0].organisation == "12345678"
    with pytest.raises(ValidationError, match="only an employer"):
        consent(recipients=[{"partner": "iq_counselling", "organisation": "12345678"}])
    with pytest.raises(ValidationError, match="organisation"):
        consent(recipients=[{"partner": "employer", "organisation": "Schmitz GmbH"}])


def test_an_oral_consent_needs_a_witness() -> None:
    """Oral consent without a witness is bad input."""
    with pytest.raises(ValidationError, match="needs witness_name"):
        consent(method="oral_with_witness")


def test_under_15_a_guardian_consents() -> None:
    """The day before the 15th birthday a guardian must consent; on the birthday the person may."""
    story = Story(register(date_of_birth=date(2001, 3, 14)))

    day_before = consent(given_on=date(2016, 3, 13))
    birthday = consent(given_on=date(2016, 3, 14))

    assert refused(story, day_before) == "consent.guardian_required_under_15"
    assert story.then(birthday)


def test_a_guardian_may_consent_for_a_child() -> None:
    """With the guardian named, a 10-year-old's consent is recorded."""
    story = Story(register(date_of_birth=date(2006, 1, 1)))

    produced = story.then(consent(given_by_guardian=True, guardian_name="Samir Haddad"))

    assert produced[0].type == "intake.consent_given"


def test_withdrawal_needs_a_valid_consent() -> None:
    """A consent can be withdrawn once; a second withdrawal is refused."""
    story = Story()
    story.then(consent())
    withdraw = WithdrawConsent(consent_id=consent().consent_id, withdrawn_on=date(2016, 4, 1))

    story.then(withdraw)

    assert refused(story, withdraw) == "consent.must_be_valid"


def test_expiry_only_after_the_last_day_valid_until() -> None:
    """valid_until is the consent's last day: expiring on it is refused; the day after, the
    expiry is recorded."""
    story = Story()
    story.then(consent(valid_until=date(2017, 2, 9)))
    consent_id = consent().consent_id

    early = ExpireConsent(consent_id=consent_id, expired_on=date(2017, 2, 9))
    due = ExpireConsent(consent_id=consent_id, expired_on=date(2017, 2, 10))

    assert refused(story, early) == "consent.not_yet_expired"
    assert story.then(due) == [ConsentExpired(consent_id=consent_id, expired_on=date(2017, 2, 10))]


def test_a_referral_needs_a_consent_naming_partner_and_purpose() -> None:
    """IQ counselling for recognition is named; for placement it is not; after withdrawal none."""
    story = Story()
    story.then(consent())
    referral = ReferToPartner(
        referral_id=REQUEST,
        partner=Partner.IQ_COUNSELLING,
        purpose=Purpose.RECOGNITION,
        referred_on=date(2016, 2, 15),
    )

    assert refused(story, referral.model_copy(update={"purpose": "placement"})) == (
        "referral.needs_consent"
    )
    assert story.then(referral)
    story.then(WithdrawConsent(consent_id=consent().consent_id, withdrawn_on=date(2016, 3, 1)))
    later = referral.model_copy(update={"referral_id": HANDOVER, "referred_on": date(2016, 3, 1)})
    assert refused(story, later) == "referral.needs_consent"


# --- interpreters and profile --------------------------------------------------------------


def test_interpreter_request_runs_requested_assigned_held() -> None:
    """A session needs an assigned interpreter; the cost bearer is the responsible agency."""
    story = Story()
    requested = story.then(
        RequestInterpreter(
            request_id=REQUEST, language="ar", slot_start=datetime(2016, 2, 9, 9, tzinfo=UTC)
        )
    )

    assert refused(story, RecordInterpreterSession(request_id=REQUEST)) == (
        "interpreter.must_be_assigned"
    )
    story.then(AssignInterpreter(request_id=REQUEST, interpreter_ref="SPM-MG-017"))
    assert story.then(RecordInterpreterSession(request_id=REQUEST))
    assert isinstance(requested[0], InterpreterRequested)
    assert requested[0].cost_bearer is Agency.AA_MG


@pytest.mark.parametrize(
    ("profile", "percent"),
    [
        ({}, 0),
        ({"schooling": [{"country": "SYR", "years": 12}]}, 25),
        ({"work_history": [{"country": "SYR", "occupation": "Elektriker", "from_year": 2005}]}, 25),
        (
            {
                "schooling": [{"country": "IRQ", "years": 9}],
                "work_history": [
                    {
                        "country": "IRQ",
                        "occupation": "Elektriker",
                        "kldb": "26212",
                        "from_year": 2005,
                    }
                ],
                "target_occupation": "26212",
            },
            100,
        ),
    ],
)
def test_profile_completeness_counts_four_quarters(
    profile: dict[str, object], percent: int
) -> None:
    """Schooling, history, coded history and a target occupation: a quarter each."""
    produced = Story().then(RecordProfile.model_validate(profile))

    assert isinstance(produced[0], ProfileRecorded)
    assert produced[0].completeness_percent == percent


# --- Rechtskreiswechsel and hand-overs -----------------------------------------------------


def test_sgb2_application_needs_protection() -> None:
    """Without a granted protection status there is no SGB II application."""
    story = Story().with_package_basics()

    assert refused(story, RecordSgbIIApplication(applied_on=date(2016, 6, 20))) == (
        "sgb2.needs_protection_status"
    )


def test_sgb2_application_requests_the_hand_over_to_the_towns_jobcenter() -> None:
    """Protection + SGB II application at the Agentur requests the hand-over to JC-MG at once."""
    story = Story().with_package_basics().with_protection()

    produced = story.then(RecordSgbIIApplication(applied_on=date(2016, 6, 20)))

    assert isinstance(produced[0], SgbIIApplicationRecorded)
    assert isinstance(produced[1], HandOverRequested)
    assert (produced[1].from_agency, produced[1].to_agency) == (Agency.AA_MG, Agency.JC_MG)
    assert produced[1].reason is HandOverReason.RECHTSKREISWECHSEL
    assert produced[1].package.identifiers == ("bamf_file_number",)


def test_a_neuss_case_goes_to_the_jobcenter_rhein_kreis_neuss() -> None:
    """The Jobcenter follows the site: NE -> JC-RKN; asking for JC-MG is refused."""
    story = Story(register(site=Site.NE, town="Neuss")).with_package_basics().with_protection()
    automatic = sgb2_hand_over(story)
    story.then(
        RejectHandOver(
            handover_id=automatic.handover_id, rejected_on=date(2016, 6, 21), reason="Test"
        ),
        acting=Agency.JC_RKN,
    )
    to_jc_mg = RequestHandOver(
        handover_id=HANDOVER,
        to_agency=Agency.JC_MG,
        reason=HandOverReason.RECHTSKREISWECHSEL,
        requested_on=date(2016, 6, 22),
    )

    assert automatic.to_agency is Agency.JC_RKN
    assert refused(story, to_jc_mg) == "hand_over.jobcenter_of_the_town"


def test_the_package_must_hold_its_mandatory_items() -> None:
    """Without BAMF file number and residence status no hand-over is requested."""
    story = Story().with_protection()

    rule = refused(story, RecordSgbIIApplication(applied_on=date(2016, 6, 20)))

    assert rule == "hand_over.package_incomplete"


def _handed_over_to_jc_mg() -> Story:
    story = Story().with_package_basics().with_protection()
    requested = sgb2_hand_over(story)
    story.then(
        AcceptHandOver(handover_id=requested.handover_id, accepted_on=date(2016, 6, 27)),
        acting=Agency.JC_MG,
    )
    return story


def test_a_second_pending_hand_over_is_refused() -> None:
    """While one hand-over is pending, another is refused."""
    story = Story().with_package_basics().with_protection()
    story.then(RecordSgbIIApplication(applied_on=date(2016, 6, 20)))
    again = RequestHandOver(
        handover_id=HANDOVER,
        to_agency=Agency.JC_MG,
        reason=HandOverReason.RECHTSKREISWECHSEL,
        requested_on=date(2016, 6, 21),
    )

    assert refused(story, again) == "hand_over.one_pending_at_a_time"


def test_only_the_receiver_accepts_or_rejects() -> None:
    """The Agentur cannot accept its own offer; JC-RKN cannot accept one meant for JC-MG."""
    story = Story().with_package_basics().with_protection()
    requested = sgb2_hand_over(story)
    accept = AcceptHandOver(handover_id=requested.handover_id, accepted_on=date(2016, 6, 27))
    reject = RejectHandOver(
        handover_id=requested.handover_id,
        rejected_on=date(2016, 6, 27),
        reason="Paket unvollständig",
    )

    assert refused(story, accept, acting=Agency.AA_MG) == "hand_over.only_receiver_decides"
    assert refused(story, reject, acting=Agency.JC_RKN) == "hand_over.only_receiver_decides"


def test_after_acceptance_the_receiver_is_responsible_and_the_sender_reads_only() -> None:
    """Exactly one responsible agency: JC-MG after acceptance; the Agentur can no longer change."""
    story = _handed_over_to_jc_mg()

    assert story.case().responsible is Agency.JC_MG
    assert story.case().pending is None
    assert refused(
        story, RecordContact(contacted_on=date(2016, 7, 1), channel=ContactChannel.PHONE)
    ) == ("case.only_responsible_agency_changes")


def test_a_rejected_hand_over_leaves_the_sender_responsible() -> None:
    """Rejection ends the pending offer; the Agentur stays responsible and may offer again."""
    story = Story().with_package_basics().with_protection()
    requested = sgb2_hand_over(story)
    story.then(
        RejectHandOver(
            handover_id=requested.handover_id,
            rejected_on=date(2016, 6, 22),
            reason="Lebenslauf fehlt",
        ),
        acting=Agency.JC_MG,
    )

    assert story.case().responsible is Agency.AA_MG
    assert story.then(
        RequestHandOver(
            handover_id=HANDOVER,
            to_agency=Agency.JC_MG,
            reason=HandOverReason.RECHTSKREISWECHSEL,
            requested_on=date(2016, 6, 23),
        )
    )


def test_a_move_between_jobcenters_needs_a_wohnsitzauflage_there() -> None:
    """JC-MG hands over to JC-RKN only after a residence assignment to a Rhein-Kreis town."""
    story = _handed_over_to_jc_mg()
    move = RequestHandOver(
        handover_id=HANDOVER,
        to_agency=Agency.JC_RKN,
        reason=HandOverReason.MOVE_BETWEEN_JOBCENTERS,
        requested_on=date(2016, 9, 1),
    )

    assert refused(story, move, acting=Agency.JC_MG) == "hand_over.move_needs_wohnsitzauflage"
    story.then(
        ImposeWohnsitzauflage(town="Grevenbroich", effective_from=date(2016, 8, 15)),
        acting=Agency.JC_MG,
    )
    story.then(move, acting=Agency.JC_MG)
    accepted = story.then(
        AcceptHandOver(handover_id=HANDOVER, accepted_on=date(2016, 9, 5)), acting=Agency.JC_RKN
    )[0]

    assert isinstance(accepted, HandOverAccepted)
    assert accepted.new_site is Site.GV
    assert (story.case().responsible, story.case().site) == (Agency.JC_RKN, Site.GV)


def test_the_jba_route_is_for_under_25s() -> None:
    """The day before the 25th birthday the JBA route opens; on the birthday it does not."""
    story = Story(register(date_of_birth=date(1991, 6, 1))).with_package_basics()

    def jba(on: date) -> RequestHandOver:
        return RequestHandOver(
            handover_id=HANDOVER,
            to_agency=Agency.AA_MG,
            reason=HandOverReason.UNDER_25_JUGENDBERUFSAGENTUR,
            requested_on=on,
        )

    assert refused(story, jba(date(2016, 6, 1))) == "hand_over.jba_only_under_25"
    story.then(jba(date(2016, 5, 31)))
    story.then(AcceptHandOver(handover_id=HANDOVER, accepted_on=date(2016, 6, 2)))
    assert story.case().jba_route
    assert story.case().responsible is Agency.AA_MG


def test_closing_waits_for_a_pending_hand_over() -> None:
    """A case with a pending offer cannot be closed."""
    story = Story().with_package_basics().with_protection()
    story.then(RecordSgbIIApplication(applied_on=date(2016, 6, 20)))

    assert refused(story, CloseCase(reason=ClosingReason.WORK, closed_on=date(2016, 7, 1))) == (
        "case.hand_over_pending"
    )


# --- erasure -------------------------------------------------------------------------------


def test_after_erasure_the_case_takes_no_command() -> None:
    """Once erased, every further command is refused by the erasure rule."""
    story = Story()
    story.then(ErasePerson(reason="Art. 17 DSGVO, geprüft", erased_on=date(2016, 5, 1)))

    assert refused(story, RecordFirstContact(contacted_on=date(2016, 5, 2))) == "case.erased"
    assert refused(story, ErasePerson(reason="again", erased_on=date(2016, 5, 2))) == (
        "case.erased"
    )


def test_only_the_responsible_agency_erases_even_a_closed_case() -> None:
    """A closed case can still be erased (retention ends there), by the responsible agency."""
    story = Story()
    story.then(CloseCase(reason=ClosingReason.LEFT_GERMANY, closed_on=date(2016, 4, 1)))
    erase = ErasePerson(reason="Aufbewahrungsfrist abgelaufen", erased_on=date(2021, 4, 1))

    assert refused(story, erase, acting=Agency.JC_MG) == (
        "erasure.by_responsible_agency_or_its_data_protection"
    )
    assert story.then(erase)[0].type == "intake.person_erased"
