"""The pure placement decider: the two scenarios of the issue, and the work-permission rules
(request, BA consent, the Ausländerbehörde's decision), each with its boundary."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from contracts.common import Site
from contracts.intake import ResidenceStatus
from contracts.placement import (
    BaConsentDecided,
    FollowUpContactRecorded,
    JugendberufsagenturRouteNoted,
    MeasureOutcome,
    MeasureStarted,
    PermissionDecided,
    PlacementEndReason,
    PlacementStarted,
    WorkPermissionRequested,
)
from services.placement.commands import (
    DecidePermission,
    EndMeasure,
    EndPlacement,
    MakeProposal,
    NoteJugendberufsagenturRoute,
    NoteResidenceFacts,
    ReceiveOpening,
    RecordFollowUp,
    StartMeasure,
    StartPlacement,
)
from tests.unit.placement_builders import (
    INTAKE_EVENT,
    PLACEMENT,
    REQUEST,
    Story,
    ba_consent,
    document,
    facts,
    grant,
    helper_job,
    permitted_helper,
    request,
)

OPENING = UUID("0192f2b0-1d00-7c11-8a3b-5e2f4a6b9001")
PROPOSAL = UUID("0192f2b0-1d00-7c11-8a3b-5e2f4a6b9101")


def test_iraqi_electrician_gets_a_helper_job_under_the_august_2016_rules() -> None:
    """Iraqi, 34, Gestattung month 6: helper job, BA consent needed, Vorrangprüfung suspended."""
    # The scenario: an Iraqi electrician, 34, Grevenbroich, Aufenthaltsgestattung for
    # 5 months: a helper job offer; permission decided under the August 2016 rules.
    story = Story(facts(nationality="IRQ", site=Site.GV))
    story.then(
        ReceiveOpening.model_validate(
            {
                "opening_id": OPENING,
                "employer": "Elektro Schmitz GmbH, Grevenbroich",
                "kldb": "26301",
                "kind": "beschaeftigung",
                "skill_level": "helfer",
                "received_on": "2016-08-29",
            }
        )
    )
    story.then(
        MakeProposal(proposal_id=PROPOSAL, opening_id=OPENING, proposed_on=date(2016, 8, 30))
    )
    [requested] = story.then(request())
    assert story.refused(grant()) == "permission.needs_ba_consent"

    [consent] = story.then(ba_consent(granted=True, on=date(2016, 9, 12)))
    [permission] = story.then(grant(on=date(2016, 9, 14)))
    [started] = story.then(helper_job(proposal_id=PROPOSAL))
    [follow_up] = story.then(
        RecordFollowUp(placement_id=PLACEMENT, contacted_on=date(2017, 3, 20), still_in_post=True)
    )

    assert isinstance(requested, WorkPermissionRequested)
    assert consent == BaConsentDecided(
        request_id=REQUEST,
        needed=True,
        vorrangpruefung=False,
        beschaeftigungsbedingungen_geprueft=True,
        granted=True,
        decided_on=date(2016, 9, 12),
        rule_version="beschv-2016-08-06",
    )
    assert isinstance(permission, PermissionDecided)
    assert (permission.granted, permission.rule_version) == (True, "beschv-2016-08-06")
    assert isinstance(started, PlacementStarted)
    assert started.work_permission_request_id == REQUEST
    assert isinstance(follow_up, FollowUpContactRecorded)


def test_eritrean_under_25_goes_perjuf_then_eq_with_asa_then_apprenticeship() -> None:
    """Eritrean, 19, Neuss: JBA route; PerjuF, EQ with AsA, then an apprenticeship by law."""
    # The scenario; refugee status before the apprenticeship makes it permission-free.
    story = Story(
        facts(nationality="ERI", site=Site.NE, stay_since=date(2016, 1, 11), valid_until=None)
    )
    perjuf = StartMeasure.model_validate(
        {
            "measure_id": "0192f2b0-1d00-7c11-8a3b-5e2f4a6b8f02",
            "kind": "perjuf",
            "provider": "Bildungszentrum Neuss",
            "started_on": "2016-04-18",
        }
    )
    assert story.refused(perjuf) == "measure.needs_jugendberufsagentur_route"
    [route] = story.then(
        NoteJugendberufsagenturRoute(
            source_event_id=INTAKE_EVENT,
            handover_id=UUID("0192f2b0-1d00-7c11-8a3b-5e2f4a6b8d01"),
            noted_on=date(2016, 3, 1),
        )
    )
    [measure] = story.then(perjuf)
    story.then(
        EndMeasure(
            measure_id=perjuf.measure_id,
            ended_on=date(2016, 9, 30),
            outcome=MeasureOutcome.LEFT_FOR_PLACEMENT,
        )
    )

    story.then(
        request(
            job_type="einstiegsqualifizierung",
            employer="Autohaus Neuss",
            job_description="Einstiegsqualifizierung Kfz-Mechatronik",
            start_date=date(2016, 10, 1),
            requested_on=date(2016, 9, 1),
        )
    )
    [no_consent] = story.then(ba_consent(granted=None, on=date(2016, 9, 15)))
    story.then(grant(valid_until=date(2017, 7, 31), on=date(2016, 9, 20)))
    eq = helper_job(
        kind="einstiegsqualifizierung",
        skill_level=None,
        employer="Autohaus Neuss",
        kldb="25212",
        started_on=date(2016, 10, 1),
        with_assistierte_ausbildung=True,
    )
    [eq_started] = story.then(eq)
    story.then(
        EndPlacement(
            placement_id=PLACEMENT, ended_on=date(2017, 7, 31), reason=PlacementEndReason.TAKEN_ON
        )
    )
    refugee_status = document(
        status=ResidenceStatus.AUFENTHALTSERLAUBNIS_25_2_GFK,
        stay_since=date(2016, 1, 11),
        valid_until=date(2019, 6, 30),
    )
    story.then(
        NoteResidenceFacts(
            source_event_id=INTAKE_EVENT, protection_granted=True, document=refugee_status
        )
    )
    apprenticeship = StartPlacement.model_validate(
        {
            "placement_id": "0192f2b0-1d00-7c11-8a3b-5e2f4a6b9202",
            "kind": "ausbildung",
            "employer": "Autohaus Neuss",
            "kldb": "25212",
            "started_on": "2017-08-01",
            "with_assistierte_ausbildung": True,
        }
    )
    [started] = story.then(apprenticeship)

    assert isinstance(route, JugendberufsagenturRouteNoted)
    assert isinstance(measure, MeasureStarted)
    assert isinstance(no_consent, BaConsentDecided)
    assert (no_consent.needed, no_consent.granted) == (False, None)
    assert isinstance(eq_started, PlacementStarted)
    assert eq_started.with_assistierte_ausbildung
    assert isinstance(started, PlacementStarted)
    assert started.work_permission_request_id is None


# --- work permission rules ------------------------------------------------------------------


def test_commands_for_a_case_placement_never_heard_of_are_refused() -> None:
    """Until intake's events arrived, placement knows no case to decide on."""
    assert Story().refused(request()) == "case.not_known"


def test_request_needs_a_known_residence_document() -> None:
    """Nationality and site alone are not enough to assess a work permission."""
    story = Story(NoteResidenceFacts(source_event_id=INTAKE_EVENT, nationality="IRQ"))

    assert story.refused(request()) == "case.needs_residence_facts"


def test_request_for_a_start_in_the_waiting_period_is_refused_until_its_last_day() -> None:
    """A stay since 2016-01-01: a job starting on 04-01, the waiting period's last day
    (§§ 187 (1), 188 (2) BGB), is refused; one starting on 04-02 is requested."""
    story = Story(facts(stay_since=date(2016, 1, 1), valid_until=None))
    last_day = request(start_date=date(2016, 4, 1), requested_on=date(2016, 3, 1))

    assert story.refused(last_day) == "eligibility.waiting_period"
    assert story.then(last_day.model_copy(update={"start_date": date(2016, 4, 2)}))


def test_request_under_reception_centre_obligation_is_refused() -> None:
    """No request while the person must live in a reception centre."""
    story = Story(facts(reception_centre_obligation=True))

    assert story.refused(request()) == "eligibility.reception_centre_obligation"


def test_request_from_safe_country_with_duldung_is_refused() -> None:
    """A tolerated person from a safe country of origin may not work: no request."""
    story = Story(facts(nationality="ALB", status="duldung", safe_country_of_origin=True))

    assert story.refused(request()) == "eligibility.safe_country_of_origin"


def test_request_for_a_protection_holder_is_refused_as_not_needed() -> None:
    """A § 25 (2) holder may work by law: there is no permission to ask for."""
    story = Story(facts(status="aufenthaltserlaubnis_25_2_gfk"))

    assert story.refused(request()) == "work_permission.not_needed"


def test_request_ids_are_unique() -> None:
    """A second request with the same id is refused."""
    assert Story(facts(), request()).refused(request()) == "work_permission.request_id_taken"


def test_decisions_need_a_known_request() -> None:
    """BA consent and permission decisions name a request of this case."""
    story = Story(facts())

    assert story.refused(ba_consent()) == "work_permission.unknown_request"
    assert story.refused(grant()) == "work_permission.unknown_request"


def test_decision_before_the_request_is_refused_but_the_same_day_is_fine() -> None:
    """A decision dated the day before the request cannot be; the request's day can."""
    story = Story(facts(), request())

    assert (
        story.refused(ba_consent(on=date(2016, 9, 4))) == "work_permission.decision_before_request"
    )
    assert story.then(ba_consent(on=date(2016, 9, 5)))


def test_ba_consent_records_the_vorrangpruefung_in_duisburg() -> None:
    """For a workplace in Duisburg the BA applies the priority check in month 6."""
    story = Story(facts(), request(workplace_district="AA-DU"))

    [consent] = story.then(ba_consent())

    assert isinstance(consent, BaConsentDecided)
    assert (consent.vorrangpruefung, consent.beschaeftigungsbedingungen_geprueft) == (True, True)


def test_ba_consent_before_6_august_2016_applies_the_vorrangpruefung_in_moenchengladbach() -> None:
    """Decided on 2016-08-05 under the old rules, the priority check still applied here."""
    story = Story(facts(), request(requested_on=date(2016, 8, 1), start_date=date(2016, 9, 1)))

    [consent] = story.then(ba_consent(on=date(2016, 8, 5)))

    assert isinstance(consent, BaConsentDecided)
    assert (consent.vorrangpruefung, consent.rule_version) == (True, "beschv-2015-10-24")


def test_ba_consent_for_training_is_not_needed() -> None:
    """For vocational training the BA's answer is 'not needed', never a grant."""
    story = Story(facts(), request(job_type="berufsausbildung"))

    assert story.refused(ba_consent(granted=True)) == "ba_consent.not_needed"
    [answer] = story.then(ba_consent(granted=None))
    assert isinstance(answer, BaConsentDecided)
    assert (answer.needed, answer.granted, answer.rule_version) == (
        False,
        None,
        "beschv-2016-08-06",
    )


def test_ba_consent_for_a_job_needs_a_grant_or_a_refusal() -> None:
    """Where consent is needed the BA must answer yes or no."""
    story = Story(facts(), request())

    assert story.refused(ba_consent(granted=None)) == "ba_consent.needs_answer"


def test_ba_consent_is_decided_once() -> None:
    """A second BA answer on the same request is refused."""
    story = Story(facts(), request(), ba_consent())

    assert story.refused(ba_consent(granted=False)) == "ba_consent.already_decided"


def test_permission_cannot_be_granted_when_the_ba_refused() -> None:
    """The Ausländerbehörde is bound by the BA's refusal of consent."""
    story = Story(facts(), request(), ba_consent(granted=False))

    assert story.refused(grant()) == "permission.ba_consent_refused"


def test_permission_needs_a_consent_decided_by_its_own_date() -> None:
    """A consent dated after the permission decision does not support it."""
    story = Story(facts(), request(), ba_consent(on=date(2016, 9, 15)))

    assert story.refused(grant(on=date(2016, 9, 14))) == "permission.needs_ba_consent"
    assert story.then(grant(on=date(2016, 9, 15)))


def test_permission_for_training_needs_no_ba_consent() -> None:
    """An apprenticeship is permitted without asking the BA."""
    story = Story(facts(), request(job_type="berufsausbildung"))

    [permission] = story.then(grant())

    assert isinstance(permission, PermissionDecided)
    assert permission.rule_version == "beschv-2016-08-06"


def test_permission_after_month_48_needs_no_ba_consent() -> None:
    """From month 49 the Ausländerbehörde decides alone."""
    story = Story(facts(stay_since=date(2012, 9, 1), valid_until=None), request())

    assert story.then(grant(valid_until=date(2017, 9, 1)))


def test_refusal_needs_no_ba_consent() -> None:
    """The Ausländerbehörde may refuse without waiting for the BA; the rule version is kept."""
    story = Story(facts(), request())
    refusal = DecidePermission(
        request_id=REQUEST,
        granted=False,
        refusal_reason="Identität ungeklärt",
        decided_on=date(2016, 9, 14),
    )

    [decided] = story.then(refusal)

    assert isinstance(decided, PermissionDecided)
    assert (decided.granted, decided.rule_version) == (False, "beschv-2016-08-06")


def test_permission_must_be_valid_on_the_start_date() -> None:
    """A grant that ends the day before the job starts is refused; up to the day is fine."""
    story = Story(facts(), request(), ba_consent())

    assert story.refused(grant(valid_until=date(2016, 9, 18))) == "permission.must_cover_start"
    assert story.then(grant(valid_until=date(2016, 9, 19)))


def test_permission_cannot_be_granted_when_the_document_expired() -> None:
    """On the decision date the residence document must still be valid."""
    story = Story(facts(valid_until=date(2016, 9, 13)), request(start_date=date(2016, 9, 13)))
    story.then(ba_consent(on=date(2016, 9, 12)))

    assert story.refused(grant(on=date(2016, 9, 14))) == "eligibility.document_expired"


def test_permission_is_decided_once() -> None:
    """A second decision on the same request is refused, and so is a later BA answer."""
    story = permitted_helper()

    assert story.refused(grant()) == "permission.already_decided"
    assert story.refused(ba_consent()) == "permission.already_decided"


def test_ba_consent_in_november_2014_names_the_rule_set_of_its_day() -> None:
    """Month 17 of a stay: the consent decided on 2014-11-10 applied the priority check
    under asylvfg-2014-11-06; one decided on 11-11 none, under beschv-2014-11-11."""
    early = facts(stay_since=date(2013, 7, 1), valid_until=None)
    job = request(requested_on=date(2014, 11, 3), start_date=date(2014, 12, 1))

    [before] = Story(early, job).then(ba_consent(on=date(2014, 11, 10)))
    [after] = Story(early, job).then(ba_consent(on=date(2014, 11, 11)))

    assert isinstance(before, BaConsentDecided)
    assert isinstance(after, BaConsentDecided)
    assert (before.vorrangpruefung, before.rule_version) == (True, "asylvfg-2014-11-06")
    assert (after.vorrangpruefung, after.rule_version) == (False, "beschv-2014-11-11")


def test_ausbildungsduldung_training_is_requested_and_granted_without_ba_consent() -> None:
    """A tolerated trainee's training: requested on day 12 of the stay, permitted by the
    Ausländerbehörde with no BA consent, under the rules of its day."""
    story = Story(
        facts(
            nationality="AFG",
            status=ResidenceStatus.AUSBILDUNGSDULDUNG,
            stay_since=date(2016, 8, 20),
            valid_until=date(2019, 8, 31),
        )
    )
    training = request(
        job_type="berufsausbildung", requested_on=date(2016, 9, 1), start_date=date(2016, 9, 1)
    )

    story.then(training)
    [consent] = story.then(ba_consent(granted=None, on=date(2016, 9, 1)))
    [permission] = story.then(grant(valid_until=date(2019, 8, 31), on=date(2016, 9, 1)))

    assert isinstance(consent, BaConsentDecided)
    assert (consent.needed, consent.rule_version) == (False, "beschv-2016-08-06")
    assert isinstance(permission, PermissionDecided)
    assert permission.granted
