"""Purpose limitation: which view may hold which event, on which ground (DOMAIN.md table)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import UUID, uuid4

import pytest

from contracts import intake, language, placement, recognition
from contracts.common import CefrLevel, Site
from contracts.envelope import Agency
from contracts.intake import (
    CaseClosed,
    ClosingReason,
    ConsentExpired,
    ConsentGiven,
    ConsentMethod,
    ConsentWithdrawn,
    ContactChannel,
    ContactRecorded,
    DataCategory,
    FirstContactMade,
    HandOverAccepted,
    HandOverReason,
    IdentifierKind,
    IdentifierLinked,
    InterpreterRequested,
    Partner,
    PersonRegistered,
    ProfileRecorded,
    Purpose,
    Recipient,
    ReferredToPartner,
    ResidenceStatus,
    ResidenceStatusRecorded,
    SgbIIApplicationRecorded,
    WohnsitzauflageImposed,
)
from contracts.language import (
    AttendanceRecorded,
    CourseType,
    EnrolmentEnded,
    EnrolmentOutcome,
    EnrolmentStarted,
    EntitlementIssued,
    EntitlementKind,
    Exam,
    ExamTaken,
    PlacementTestTaken,
)
from contracts.placement import (
    BaConsentDecided,
    JobType,
    MeasureKind,
    MeasureStarted,
    PermissionDecided,
    PlacementKind,
    PlacementStarted,
    ResidenceFactsNoted,
    WorkPermissionRequested,
)
from contracts.recognition import (
    Beratungsstelle,
    CompetenceAssessed,
    CounsellingHeld,
    DecisionIssued,
    DecisionOutcome,
    Kompetenzfeststellung,
    QualificationKind,
    Rechtsgrundlage,
)
from services.projections.forwarding import EMPLOYER_FIELDS
from services.projections.purpose import (
    ALL_EVENT_TYPES,
    CATEGORY_OF,
    PERMISSION_OUTCOME,
    STEERING_MIN_CELL,
    AnyEvent,
    CaseFacts,
    Grant,
    LegalBasis,
    Responsibility,
    ViewId,
    ViewKind,
    awaits_consented_data,
    case_facts,
    data_category,
    disclosure,
    visible_fields,
)

ALLOCATED = date(2016, 2, 1)
BEFORE = date(2016, 4, 1)  # recorded while the Agentur is responsible
HANDED_OVER = date(2016, 7, 1)  # the Rechtskreiswechsel is accepted
AFTER = date(2016, 8, 1)  # recorded while the Jobcenter is responsible
MOVED = date(2016, 10, 1)  # a move between Jobcenters is accepted
LATER = date(2016, 11, 1)
TODAY = date(2017, 1, 2)
CONSENT = UUID("0192f1a0-7c40-7000-8000-000000000001")
OBLIGATION = UUID("0192f1a0-7c40-7000-8000-0000000000a1")
ENROLMENT = UUID("0192f1a0-7c40-7000-8000-0000000000e1")


# --- builders -------------------------------------------------------------------------------


def registered(site: Site = Site.MG) -> PersonRegistered:
    town = {Site.MG: "Mönchengladbach", Site.NE: "Neuss", Site.GV: "Grevenbroich"}[site]
    return PersonRegistered(
        given_name="Amina",
        family_name="Haddad",
        date_of_birth=date(1989, 3, 14),
        nationality="SYR",
        languages=("ar",),
        site=site,
        town=town,
        allocated_on=ALLOCATED,
    )


def handed_over(
    to: Agency = Agency.JC_MG,
    *,
    from_agency: Agency = Agency.AA_MG,
    on: date = HANDED_OVER,
    reason: HandOverReason = HandOverReason.RECHTSKREISWECHSEL,
    new_site: Site | None = None,
) -> HandOverAccepted:
    return HandOverAccepted(
        handover_id=uuid4(),
        from_agency=from_agency,
        to_agency=to,
        reason=reason,
        accepted_on=on,
        new_site=new_site,
    )


def consent(
    *,
    agency: Agency | None = None,
    partner: Partner | None = None,
    purposes: tuple[Purpose, ...] = (Purpose.COUNSELLING,),
    categories: tuple[DataCategory, ...] = (DataCategory.PROFILE,),
    given_on: date = BEFORE,
    valid_until: date | None = None,
    organisation: str | None = None,
) -> ConsentGiven:
    return ConsentGiven(
        consent_id=CONSENT,
        purposes=purposes,
        recipients=(Recipient(agency=agency, partner=partner, organisation=organisation),),
        data_categories=categories,
        notice_version="2016-01",
        notice_language="ar",
        method=ConsentMethod.WRITTEN,
        given_on=given_on,
        valid_until=valid_until,
    )


def linked(kind: IdentifierKind = IdentifierKind.BAMF_AKTENZEICHEN) -> IdentifierLinked:
    return IdentifierLinked(kind=kind, value="6543210-475")


def residence() -> ResidenceStatusRecorded:
    return ResidenceStatusRecorded(
        status=ResidenceStatus.AUFENTHALTSGESTATTUNG, valid_from=ALLOCATED, stay_since=ALLOCATED
    )


def wohnsitzauflage(site: Site = Site.MG) -> WohnsitzauflageImposed:
    town = {Site.MG: "Mönchengladbach", Site.NE: "Neuss", Site.GV: "Grevenbroich"}[site]
    return WohnsitzauflageImposed(town=town, site=site, effective_from=BEFORE)


def profile() -> ProfileRecorded:
    return ProfileRecorded(completeness_percent=80)


def interpreter() -> InterpreterRequested:
    return InterpreterRequested(
        request_id=uuid4(),
        language="ar",
        slot_start=datetime(2016, 3, 1, 9, tzinfo=UTC),
        cost_bearer=Agency.AA_MG,
    )


def contact() -> ContactRecorded:
    return ContactRecorded(
        contacted_on=BEFORE, channel=ContactChannel.PHONE, by_agency=Agency.AA_MG
    )


def obligation(
    agency: Agency = Agency.STADT_MG,
    kind: EntitlementKind = EntitlementKind.VERPFLICHTUNG,
    entitlement_id: UUID = OBLIGATION,
) -> EntitlementIssued:
    issuer = language.ISSUER_OF_AGENCY[agency]
    return EntitlementIssued(
        entitlement_id=entitlement_id,
        course_type=CourseType.INTEGRATIONSKURS,
        kind=kind,
        issuer=issuer,
        issuing_agency=agency,
        issued_on=BEFORE,
    )


def enrolled(entitlement_id: UUID = OBLIGATION) -> EnrolmentStarted:
    return EnrolmentStarted(
        enrolment_id=ENROLMENT,
        entitlement_id=entitlement_id,
        provider="VHS Mönchengladbach",
        course_number="215-12345",
        modules=("1",),
        started_on=BEFORE,
    )


def attendance() -> AttendanceRecorded:
    return AttendanceRecorded(
        enrolment_id=ENROLMENT, month="2016-04", units_attended=90, units_scheduled=100
    )


def exam() -> ExamTaken:
    return ExamTaken(enrolment_id=ENROLMENT, exam=Exam.DTZ, result=CefrLevel.B1, taken_on=BEFORE)


def enrolment_ended() -> EnrolmentEnded:
    return EnrolmentEnded(
        enrolment_id=ENROLMENT, outcome=EnrolmentOutcome.COMPLETED, ended_on=BEFORE
    )


def placement_test() -> PlacementTestTaken:
    return PlacementTestTaken(level=CefrLevel.A1, taken_on=BEFORE)


def counselling() -> CounsellingHeld:
    return CounsellingHeld(
        procedure_id=uuid4(),
        qualification_kind=QualificationKind.BERUFSABSCHLUSS,
        qualification_title="Elektriker",
        country="SYR",
        counselled_by=Beratungsstelle.IQ_BERATUNG,
        held_on=BEFORE,
    )


def recognition_decision() -> DecisionIssued:
    return DecisionIssued(
        procedure_id=uuid4(),
        authority=recognition.CompetentAuthority.HWK_DUESSELDORF,
        reference_occupation="26212",
        outcome=DecisionOutcome.VOLLE_GLEICHWERTIGKEIT,
        legal_basis=Rechtsgrundlage.BQFG,
        decided_on=BEFORE,
    )


def competence() -> CompetenceAssessed:
    return CompetenceAssessed(
        assessment_id=uuid4(),
        method=Kompetenzfeststellung.MYSKILLS,
        occupation="26212",
        result_summary="solid",
        assessed_on=BEFORE,
    )


def permission_requested() -> WorkPermissionRequested:
    return WorkPermissionRequested(
        request_id=uuid4(),
        employer="Elektro Schmitz GmbH",
        job_description="Elektrohelfer",
        job_type=JobType.HELFER,
        start_date=AFTER,
        requested_on=BEFORE,
    )


def ba_consent() -> BaConsentDecided:
    return BaConsentDecided(
        request_id=uuid4(),
        needed=True,
        vorrangpruefung=False,
        beschaeftigungsbedingungen_geprueft=True,
        granted=True,
        decided_on=BEFORE,
        rule_version="beschv-2016-08",
    )


def permission_refused() -> PermissionDecided:
    return PermissionDecided(
        request_id=uuid4(),
        granted=False,
        refusal_reason="Identität ungeklärt",
        decided_on=BEFORE,
        rule_version="beschv-2016-08",
    )


def measure() -> MeasureStarted:
    return MeasureStarted(
        measure_id=uuid4(), kind=MeasureKind.PERF, provider="Bildungswerk", started_on=BEFORE
    )


def placement_started() -> PlacementStarted:
    return PlacementStarted(
        placement_id=uuid4(),
        kind=PlacementKind.PRAKTIKUM,
        employer="Elektro Schmitz GmbH",
        started_on=BEFORE,
    )


def residence_facts() -> ResidenceFactsNoted:
    return ResidenceFactsNoted(status=ResidenceStatus.DULDUNG, source_event_id=uuid4())


# One event of every data category, and of the case's administration.
EVERY_KIND: tuple[AnyEvent, ...] = (
    registered(),
    linked(),
    residence(),
    profile(),
    obligation(Agency.AA_MG, EntitlementKind.BERECHTIGUNG),
    placement_test(),
    counselling(),
    competence(),
    permission_requested(),
    placement_started(),
    interpreter(),
    contact(),
    FirstContactMade(contacted_on=BEFORE),
    SgbIIApplicationRecorded(applied_on=BEFORE, jobcenter=Agency.JC_MG),
    CaseClosed(reason=ClosingReason.WORK, closed_on=LATER),
)
PERSON_LEVEL = pytest.mark.parametrize("event", EVERY_KIND, ids=lambda e: e.type)


def facts(*events: AnyEvent, site: Site = Site.MG) -> CaseFacts:
    return case_facts((registered(site), *events))


def grant(
    view: ViewId, event: AnyEvent, case: CaseFacts, on: date = TODAY, recorded_on: date = BEFORE
) -> Grant | None:
    return disclosure(view, event, case, on, recorded_on=recorded_on)


# --- categories and fields ------------------------------------------------------------------


def test_every_event_type_of_the_four_topics_has_a_category_or_is_explicitly_category_less() -> (
    None
):
    """A new event type without an entry in CATEGORY_OF fails here, and no entry is stale."""
    types = {model.model_fields["type"].default for model in ALL_EVENT_TYPES}
    assert types == set(CATEGORY_OF)
    assert len(ALL_EVENT_TYPES) == sum(
        len(m.EVENT_TYPES) for m in (intake, language, recognition, placement)
    )


def test_unknown_event_type_has_no_category_and_fails_loudly() -> None:
    """An unclassified event type raises instead of slipping into a view."""
    with pytest.raises(KeyError):
        data_category("intake.something_new")


def test_categories_of_representative_events() -> None:
    """Profile, tests and competence assessments are personal; consents are administration."""
    assert data_category("intake.profile_recorded") is DataCategory.PROFILE
    assert data_category("recognition.competence_assessed") is DataCategory.PROFILE
    assert data_category("language.placement_test_taken") is DataCategory.LANGUAGE
    assert data_category("placement.permission_decided") is DataCategory.PLACEMENT
    assert data_category("intake.consent_given") is None


def test_field_restrictions_name_real_fields() -> None:
    """Every field list names fields the event's contract really has."""
    models = {model.model_fields["type"].default: model for model in ALL_EVENT_TYPES}
    for view in ViewId:
        for event_type, model in models.items():
            fields = visible_fields(view, event_type)
            if fields is not None:
                assert fields <= set(model.model_fields), (view, event_type)
    for event_type, employer_fields in EMPLOYER_FIELDS.items():
        assert event_type in models
        assert employer_fields is None or employer_fields <= set(models[event_type].model_fields)


def test_employer_learns_granted_and_until_never_the_refusal_reason() -> None:
    """Employer rule: permission granted yes/no and until when, not reasons or restrictions."""
    fields = EMPLOYER_FIELDS["placement.permission_decided"]
    assert fields is not None
    assert {"granted", "valid_until"} <= fields
    assert not fields & {"refusal_reason", "restrictions", "rule_version"}


@pytest.mark.parametrize("view", [ViewId.AA_MG, ViewId.JC_MG], ids=str)
def test_agentur_and_jobcenter_hold_the_permission_outcome_not_the_refusal_reason(
    view: ViewId,
) -> None:
    """The ABH's decision reaches the responsible agency without its grounds for a refusal:
    granted, until when, restrictions, date and rule version; never ``refusal_reason``."""
    case = facts(handed_over(Agency.JC_MG)) if view is ViewId.JC_MG else facts()
    got = grant(view, permission_refused(), case, recorded_on=AFTER)
    assert got is not None
    assert got.fields == PERMISSION_OUTCOME
    every = set(PermissionDecided.model_fields)
    assert every - PERMISSION_OUTCOME == {"type", "schema_version", "refusal_reason"}
    assert visible_fields(view, "placement.ba_consent_decided") is None  # the BA's own act


def test_views_stand_for_their_controllers_and_scopes() -> None:
    """ABH and Sozialamt are the Stadt's or the Kreis's; the Agentur covers every site."""
    assert ViewId.AA_MG.controller is Agency.AA_MG
    assert ViewId.AA_MG.scope == frozenset(Site)
    assert ViewId.ABH_MG.controller is Agency.STADT_MG
    assert ViewId.SOZIALAMT_RKN.controller is Agency.RKN
    assert ViewId.JC_RKN.scope == frozenset({Site.NE, Site.GV})
    assert ViewId.SOZIALAMT_MG.scope == frozenset({Site.MG})
    assert ViewId.PARTNER_JBA.controller is Partner.JUGENDBERUFSAGENTUR
    assert ViewId.STEERING.controller is None
    assert ViewId.STEERING.kind is ViewKind.STEERING


def test_a_grant_rests_on_a_basis_or_a_consent() -> None:
    """A grant with neither (or both) grounds cannot be logged, so it cannot exist."""
    with pytest.raises(ValueError, match="exactly one ground"):
        Grant(ViewId.AA_MG, "intake.profile_recorded", None, None, None, False)
    with pytest.raises(ValueError, match="exactly one ground"):
        Grant(ViewId.AA_MG, "x", None, LegalBasis.SGB_II_50, CONSENT, False)


# --- case facts -----------------------------------------------------------------------------


def test_case_facts_fold_site_responsibility_sozialamt_facts_obligations_and_consents() -> None:
    """The fold keeps what the rules need from intake and language events."""
    case = facts(
        wohnsitzauflage(Site.NE),
        handed_over(Agency.JC_RKN),
        obligation(),
        obligation(Agency.JC_MG, EntitlementKind.VERPFLICHTUNG, uuid4()),
        obligation(Agency.RKN, EntitlementKind.BERECHTIGUNG, uuid4()),
        enrolled(),
        consent(partner=Partner.IQ_COUNSELLING),
        ConsentWithdrawn(consent_id=CONSENT, withdrawn_on=AFTER),
        ConsentExpired(consent_id=CONSENT, expired_on=LATER),  # an ended consent stays ended
        counselling(),
    )
    assert case.site is Site.NE
    assert case.responsibility == (
        Responsibility(Agency.AA_MG, ALLOCATED),
        Responsibility(Agency.JC_RKN, HANDED_OVER),
    )
    assert case.rechtskreiswechsel_on == HANDED_OVER
    assert case.sozialamt_relevant
    assert case.abh_obligations == frozenset({(OBLIGATION, Agency.STADT_MG)})
    assert case.entitlement_of(ENROLMENT) == OBLIGATION
    (given,) = case.consents
    assert given.partners == frozenset({Partner.IQ_COUNSELLING})
    assert given.ended_on == AFTER


def test_jugendberufsagentur_route_moves_no_responsibility() -> None:
    """An accepted under-25 hand-over adds the JBA network; the agency stays responsible."""
    case = facts(
        handed_over(Agency.AA_MG, reason=HandOverReason.UNDER_25_JUGENDBERUFSAGENTUR),
    )
    assert case.responsible_on(TODAY) is Agency.AA_MG
    assert not case.sozialamt_relevant


def test_move_sets_the_new_site() -> None:
    """A hand-over with a new site moves the case there."""
    case = facts(
        handed_over(),
        handed_over(Agency.JC_RKN, from_agency=Agency.JC_MG, on=MOVED, new_site=Site.GV),
        site=Site.MG,
    )
    assert case.site is Site.GV
    assert case.responsible_on(LATER) is Agency.JC_RKN
    successor = case.handed_on(Agency.JC_MG, LATER)
    assert successor is not None
    assert (successor.agency, successor.since) == (Agency.JC_RKN, MOVED)
    assert case.handed_on(Agency.JC_MG, AFTER) is None


# --- Agentur --------------------------------------------------------------------------------


@pytest.mark.parametrize("site", list(Site))
@PERSON_LEVEL
def test_agentur_sees_every_category_of_a_case_in_its_district(event: AnyEvent, site: Site) -> None:
    """AA counselling sees identity, status, profile, language, recognition, placements,
    interpreter need and the case's administration at every site, as its own data."""
    got = grant(ViewId.AA_MG, event, facts(site=site))
    assert got is not None
    assert (got.basis, got.consent_id, got.read_only) == (
        LegalBasis.OWN_RESPONSIBILITY,
        None,
        False,
    )
    assert got.category is data_category(event.type)
    assert got.fields is None


@PERSON_LEVEL
def test_agentur_keeps_read_only_history_after_the_rechtskreiswechsel(event: AnyEvent) -> None:
    """After the hand-over the Agentur keeps what it had, read-only."""
    got = grant(ViewId.AA_MG, event, facts(handed_over()), recorded_on=BEFORE)
    assert got is not None
    assert (got.basis, got.read_only) == (LegalBasis.OWN_RESPONSIBILITY, True)


@PERSON_LEVEL
def test_agentur_never_sees_what_the_jobcenter_records_after_the_hand_over(
    event: AnyEvent,
) -> None:
    """The Jobcenter's own data (its clients' later events) stays out of the Agentur's view.

    Jobcenter benefit data, Sozialamt files and IQ notes have no event type at all yet.
    """
    assert grant(ViewId.AA_MG, event, facts(handed_over()), recorded_on=AFTER) is None


def test_agentur_keeps_the_acceptance_of_its_own_hand_over() -> None:
    """The acceptance, recorded on the hand-over day, stays in the sender's history."""
    accepted = handed_over()
    got = grant(ViewId.AA_MG, accepted, facts(accepted), recorded_on=HANDED_OVER)
    assert got is not None
    assert (got.basis, got.read_only) == (LegalBasis.OWN_RESPONSIBILITY, True)


# --- Jobcenters -----------------------------------------------------------------------------


@PERSON_LEVEL
def test_jobcenter_sees_a_handed_over_case_with_its_history(event: AnyEvent) -> None:
    """The receiving Jobcenter sees the AA view: earlier data by § 50 SGB II, later its own."""
    case = facts(handed_over(Agency.JC_MG))
    earlier = grant(ViewId.JC_MG, event, case, recorded_on=BEFORE)
    later = grant(ViewId.JC_MG, event, case, recorded_on=AFTER)
    assert earlier is not None
    assert later is not None
    assert (earlier.basis, earlier.read_only) == (LegalBasis.SGB_II_50, False)
    assert (later.basis, later.read_only) == (LegalBasis.OWN_RESPONSIBILITY, False)


@PERSON_LEVEL
def test_jobcenter_sees_nothing_of_a_case_it_never_had(event: AnyEvent) -> None:
    """The other Jobcenter sees nothing; the receiver nothing before the hand-over."""
    case = facts(handed_over(Agency.JC_MG))
    assert grant(ViewId.JC_RKN, event, case, recorded_on=BEFORE) is None
    assert grant(ViewId.JC_RKN, event, case, recorded_on=AFTER) is None
    assert grant(ViewId.JC_MG, event, case, on=BEFORE, recorded_on=BEFORE) is None
    assert grant(ViewId.JC_MG, event, facts(), recorded_on=BEFORE) is None


@PERSON_LEVEL
def test_move_between_jobcenters_sender_keeps_read_only_history(event: AnyEvent) -> None:
    """After a move the sending Jobcenter keeps what it had, read-only, and nothing newer."""
    case = facts(
        handed_over(Agency.JC_MG),
        handed_over(
            Agency.JC_RKN,
            from_agency=Agency.JC_MG,
            on=MOVED,
            reason=HandOverReason.MOVE_BETWEEN_JOBCENTERS,
            new_site=Site.NE,
        ),
    )
    own = grant(ViewId.JC_MG, event, case, recorded_on=AFTER)
    received = grant(ViewId.JC_MG, event, case, recorded_on=BEFORE)
    assert own is not None
    assert received is not None
    assert (own.basis, own.read_only) == (LegalBasis.OWN_RESPONSIBILITY, True)
    assert (received.basis, received.read_only) == (LegalBasis.SGB_II_50, True)
    assert grant(ViewId.JC_MG, event, case, recorded_on=LATER) is None
    # The receiving Jobcenter now holds all of it; before the move it saw nothing.
    moved = grant(ViewId.JC_RKN, event, case, recorded_on=AFTER)
    assert moved is not None
    assert (moved.basis, moved.read_only) == (LegalBasis.SGB_II_50, False)
    assert grant(ViewId.JC_RKN, event, case, on=AFTER, recorded_on=BEFORE) is None


def test_consent_naming_a_jobcenter_opens_it_before_any_hand_over() -> None:
    """A valid consent naming JC-MG opens its view for the named categories only."""
    case = facts(consent(agency=Agency.JC_MG, categories=(DataCategory.PROFILE,)))
    got = grant(ViewId.JC_MG, profile(), case)
    assert got is not None
    assert (got.basis, got.consent_id, got.read_only) == (None, CONSENT, True)
    assert grant(ViewId.JC_MG, placement_test(), case) is None
    assert grant(ViewId.JC_MG, contact(), case) is None  # administration: no category
    assert grant(ViewId.JC_RKN, profile(), case) is None


# --- Ausländerbehörde -----------------------------------------------------------------------

ABH_SEES = (
    registered(),
    linked(IdentifierKind.BAMF_AKTENZEICHEN),
    linked(IdentifierKind.AZR_NUMMER),
    residence(),
    intake.AsylumDecided(outcome=intake.AsylumOutcome.SUBSIDIAERER_SCHUTZ, decided_on=BEFORE),
    wohnsitzauflage(),
    permission_requested(),
    ba_consent(),
    permission_refused(),
    obligation(),
    obligation(Agency.STADT_MG, EntitlementKind.BERECHTIGUNG, uuid4()),  # its own record
)
ABH_NEVER_SEES = (
    profile(),
    competence(),
    placement_test(),
    counselling(),
    recognition_decision(),
    interpreter(),
    contact(),
    FirstContactMade(contacted_on=BEFORE),
    consent(agency=Agency.STADT_MG),
    measure(),
    placement_started(),
    residence_facts(),  # placement's copy: the office has the original
    linked(IdentifierKind.BA_KUNDENNUMMER),
    linked(IdentifierKind.JOBCENTER_KUNDENNUMMER),
    obligation(Agency.JC_MG),
    SgbIIApplicationRecorded(applied_on=BEFORE, jobcenter=Agency.JC_MG),
    handed_over(),
)


@pytest.mark.parametrize("event", ABH_SEES, ids=lambda e: e.type)
def test_auslaenderbehoerde_sees_its_records_and_work_permission_procedure(
    event: AnyEvent,
) -> None:
    """Identity, residence, work-permission requests and outcomes, under the AufenthG."""
    got = grant(ViewId.ABH_MG, event, facts())
    assert got is not None
    assert (got.basis, got.read_only) == (LegalBasis.AUFENTHG, False)


@pytest.mark.parametrize("event", ABH_NEVER_SEES, ids=lambda e: e.type)
def test_auslaenderbehoerde_never_sees_cv_tests_counselling_or_benefits(event: AnyEvent) -> None:
    """Profile, tests, recognition, interpreters, contacts, placements: never."""
    assert grant(ViewId.ABH_MG, event, facts()) is None


def test_auslaenderbehoerde_holds_only_cases_in_its_scope() -> None:
    """The Kreis's office does not see a Mönchengladbach case, and vice versa."""
    assert grant(ViewId.ABH_RKN, registered(), facts()) is None
    assert grant(ViewId.ABH_MG, registered(Site.GV), facts(site=Site.GV)) is None
    assert grant(ViewId.ABH_RKN, registered(Site.GV), facts(site=Site.GV)) is not None


def test_auslaenderbehoerde_identity_leaves_out_spoken_languages() -> None:
    """The office gets the identity to match its file, not the counselling details."""
    got = grant(ViewId.ABH_MG, registered(), facts())
    assert got is not None
    assert got.fields is not None
    assert "languages" not in got.fields
    assert {"given_name", "family_name", "date_of_birth"} <= got.fields


@pytest.mark.parametrize(
    "event", [enrolled(), attendance(), exam(), enrolment_ended()], ids=lambda e: e.type
)
def test_auslaenderbehoerde_sees_courses_only_under_its_own_obligation(event: AnyEvent) -> None:
    """Course participation only under an obligation this office issued itself."""
    own = facts(obligation(Agency.STADT_MG), enrolled())
    got = grant(ViewId.ABH_MG, event, own)
    assert got is not None
    assert got.basis is LegalBasis.AUFENTHG
    # A Jobcenter's obligation, a mere entitlement, or the other office's obligation: no.
    by_jobcenter = facts(obligation(Agency.JC_MG), enrolled())
    entitlement = facts(obligation(Agency.STADT_MG, EntitlementKind.BERECHTIGUNG), enrolled())
    other_office = facts(obligation(Agency.RKN), enrolled())
    assert grant(ViewId.ABH_MG, event, by_jobcenter) is None
    assert grant(ViewId.ABH_MG, event, entitlement) is None
    assert grant(ViewId.ABH_MG, event, other_office) is None


def test_auslaenderbehoerde_sees_the_refusal_reason_of_its_own_decision() -> None:
    """The office decided the permission: it holds its decision whole (unlike employers)."""
    got = grant(ViewId.ABH_MG, permission_refused(), facts())
    assert got is not None
    assert got.fields is None


def test_consent_naming_the_stadt_for_courses_opens_the_office_not_the_sozialamt() -> None:
    """The purpose tells which office of the Stadt a consent opens."""
    case = facts(
        consent(
            agency=Agency.STADT_MG,
            purposes=(Purpose.LANGUAGE_COURSES,),
            categories=(DataCategory.LANGUAGE,),
        ),
        wohnsitzauflage(),
    )
    got = grant(ViewId.ABH_MG, placement_test(), case)
    assert got is not None
    assert got.consent_id == CONSENT
    assert grant(ViewId.SOZIALAMT_MG, placement_test(), case) is None


# --- Sozialamt ------------------------------------------------------------------------------


def test_sozialamt_sees_the_rechtskreiswechsel_date_and_identity_to_match() -> None:
    """The date the Jobcenter takes over, and who the person is; nothing of the package."""
    accepted = handed_over()
    case = facts(accepted)
    got = grant(ViewId.SOZIALAMT_MG, accepted, case, recorded_on=HANDED_OVER)
    assert got is not None
    assert (got.basis, got.read_only) == (LegalBasis.SGB_X_69, True)
    assert got.fields == frozenset({"handover_id", "reason", "to_agency", "accepted_on"})
    person = grant(ViewId.SOZIALAMT_MG, registered(), case)
    assert person is not None
    assert person.basis is LegalBasis.SGB_X_69
    assert person.fields is not None
    assert "languages" not in person.fields
    assert grant(ViewId.SOZIALAMT_MG, linked(IdentifierKind.AZR_NUMMER), case) is not None
    assert grant(ViewId.SOZIALAMT_MG, linked(IdentifierKind.BA_KUNDENNUMMER), case) is None


def test_sozialamt_sees_the_residence_assignment() -> None:
    """The Wohnsitzauflage decides the Sozialamt's local competence (§ 10a AsylbLG)."""
    assignment = wohnsitzauflage()
    got = grant(ViewId.SOZIALAMT_MG, assignment, facts(assignment))
    assert got is not None
    assert got.basis is LegalBasis.ASYLBLG


def test_sozialamt_holds_no_case_without_a_rechtskreiswechsel_or_assignment() -> None:
    """Without a fact it needs, the Sozialamt's database does not even hold the identity."""
    assert grant(ViewId.SOZIALAMT_MG, registered(), facts()) is None
    move = handed_over(
        Agency.JC_RKN, from_agency=Agency.JC_MG, reason=HandOverReason.MOVE_BETWEEN_JOBCENTERS
    )
    assert grant(ViewId.SOZIALAMT_MG, registered(), facts(move)) is None
    assert grant(ViewId.SOZIALAMT_MG, move, facts(move)) is None


@PERSON_LEVEL
def test_sozialamt_never_sees_placement_language_recognition_or_profile(event: AnyEvent) -> None:
    """Only identity passes, and only to the Sozialamt in scope."""
    case = facts(handed_over(), wohnsitzauflage())
    got = grant(ViewId.SOZIALAMT_MG, event, case)
    if isinstance(event, PersonRegistered | IdentifierLinked):
        assert got is not None
    else:
        assert got is None
    assert grant(ViewId.SOZIALAMT_RKN, event, case) is None


# --- partners -------------------------------------------------------------------------------


def iq_consent(
    *,
    purposes: tuple[Purpose, ...] = (Purpose.RECOGNITION,),
    categories: tuple[DataCategory, ...] = (DataCategory.RECOGNITION, DataCategory.PROFILE),
    given_on: date = BEFORE,
    valid_until: date | None = None,
) -> ConsentGiven:
    return consent(
        partner=Partner.IQ_COUNSELLING,
        purposes=purposes,
        categories=categories,
        given_on=given_on,
        valid_until=valid_until,
    )


def test_partner_sees_what_a_valid_consent_names_from_its_first_day() -> None:
    """Valid on given_on, not the day before; the grant carries the consent id."""
    case = facts(iq_consent(given_on=BEFORE))
    got = grant(ViewId.PARTNER_IQ, counselling(), case, on=BEFORE)
    assert got is not None
    assert (got.basis, got.consent_id, got.read_only) == (None, CONSENT, True)
    assert got.category is DataCategory.RECOGNITION
    assert grant(ViewId.PARTNER_IQ, counselling(), case, on=date(2016, 3, 31)) is None


def test_partner_sees_nothing_from_the_day_a_consent_is_withdrawn() -> None:
    """Withdrawn on day X: valid the day before, nothing on X (the rows go)."""
    case = facts(iq_consent(), ConsentWithdrawn(consent_id=CONSENT, withdrawn_on=AFTER))
    assert grant(ViewId.PARTNER_IQ, counselling(), case, on=date(2016, 7, 31)) is not None
    assert grant(ViewId.PARTNER_IQ, counselling(), case, on=AFTER) is None


def test_partner_sees_nothing_once_a_consent_expired() -> None:
    """An expired consent (after its last day, or by an expiry event) opens nothing; its
    last day, valid_until, it still holds."""
    until = facts(iq_consent(valid_until=AFTER))
    assert grant(ViewId.PARTNER_IQ, counselling(), until, on=AFTER) is not None
    assert grant(ViewId.PARTNER_IQ, counselling(), until, on=date(2016, 8, 2)) is None
    expired = facts(
        iq_consent(valid_until=AFTER), ConsentExpired(consent_id=CONSENT, expired_on=AFTER)
    )
    assert grant(ViewId.PARTNER_IQ, counselling(), expired, on=LATER) is None


def test_a_view_named_in_a_running_consent_awaits_the_data_it_names() -> None:
    """A partner holding nothing yet keeps the case's facts while a consent naming it for
    a purpose it pursues runs (so later consented data reaches it); not once it ended, not
    for another partner, not under a purpose it does not pursue."""
    running = facts(iq_consent(given_on=BEFORE))
    ended = facts(
        iq_consent(given_on=BEFORE), ConsentWithdrawn(consent_id=CONSENT, withdrawn_on=AFTER)
    )
    courses_only = facts(iq_consent(purposes=(Purpose.LANGUAGE_COURSES,)))

    assert awaits_consented_data(ViewId.PARTNER_IQ, running, LATER)
    assert not awaits_consented_data(ViewId.PARTNER_IQ, running, date(2016, 3, 31))
    assert not awaits_consented_data(ViewId.PARTNER_IQ, ended, LATER)
    assert not awaits_consented_data(ViewId.PARTNER_JBA, running, LATER)
    assert not awaits_consented_data(ViewId.PARTNER_IQ, courses_only, LATER)
    assert not awaits_consented_data(ViewId.STEERING, running, LATER)


def test_partner_sees_nothing_under_a_purpose_it_does_not_pursue() -> None:
    """A consent naming IQ for language courses opens nothing at IQ."""
    case = facts(iq_consent(purposes=(Purpose.LANGUAGE_COURSES,)))
    assert grant(ViewId.PARTNER_IQ, counselling(), case) is None


def test_partner_sees_no_category_the_consent_does_not_name() -> None:
    """Recognition named, language and placement not: only recognition passes."""
    case = facts(iq_consent(categories=(DataCategory.RECOGNITION,)))
    assert grant(ViewId.PARTNER_IQ, recognition_decision(), case) is not None
    assert grant(ViewId.PARTNER_IQ, placement_test(), case) is None
    assert grant(ViewId.PARTNER_IQ, placement_started(), case) is None
    assert grant(ViewId.PARTNER_IQ, registered(), case) is None


def test_consent_naming_the_jba_does_not_open_the_iq_view() -> None:
    """Each partner only under a consent that names it."""
    case = facts(
        consent(
            partner=Partner.JUGENDBERUFSAGENTUR,
            purposes=(Purpose.PLACEMENT, Purpose.RECOGNITION),
            categories=(DataCategory.PLACEMENT, DataCategory.RECOGNITION),
        )
    )
    assert grant(ViewId.PARTNER_JBA, placement_started(), case) is not None
    assert grant(ViewId.PARTNER_IQ, counselling(), case) is None
    assert grant(ViewId.PARTNER_COURSE_PROVIDER, placement_started(), case) is None


def test_course_provider_sees_language_under_a_language_courses_consent() -> None:
    """Course providers pursue language courses, and see what such a consent names."""
    case = facts(
        consent(
            partner=Partner.COURSE_PROVIDER,
            purposes=(Purpose.LANGUAGE_COURSES,),
            categories=(DataCategory.LANGUAGE, DataCategory.IDENTITY),
        )
    )
    assert grant(ViewId.PARTNER_COURSE_PROVIDER, enrolled(), case) is not None
    assert grant(ViewId.PARTNER_COURSE_PROVIDER, registered(), case) is not None
    assert grant(ViewId.PARTNER_COURSE_PROVIDER, profile(), case) is None


def test_partner_sees_its_own_referral_under_the_consent_that_allowed_it() -> None:
    """A referral to IQ for recognition shows at IQ; a referral to the JBA does not."""
    case = facts(iq_consent())
    to_iq = ReferredToPartner(
        referral_id=uuid4(),
        partner=Partner.IQ_COUNSELLING,
        purpose=Purpose.RECOGNITION,
        referred_on=BEFORE,
    )
    to_jba = to_iq.model_copy(update={"partner": Partner.JUGENDBERUFSAGENTUR})
    got = grant(ViewId.PARTNER_IQ, to_iq, case)
    assert got is not None
    assert got.consent_id == CONSENT
    assert grant(ViewId.PARTNER_IQ, to_jba, case) is None


@PERSON_LEVEL
def test_partners_see_nothing_without_consent(event: AnyEvent) -> None:
    """No consent, no partner row: partners have no legal basis of their own."""
    for view in (ViewId.PARTNER_IQ, ViewId.PARTNER_JBA, ViewId.PARTNER_COURSE_PROVIDER):
        assert grant(view, event, facts()) is None


# --- steering -------------------------------------------------------------------------------


@PERSON_LEVEL
def test_steering_never_sees_a_person(event: AnyEvent) -> None:
    """Steering gets no person-level row, whatever consents or hand-overs exist."""
    case = facts(handed_over(), wohnsitzauflage(), iq_consent())
    assert grant(ViewId.STEERING, event, case) is None


def test_steering_suppresses_cells_below_five() -> None:
    """Small cells (< 5 persons) are suppressed."""
    assert STEERING_MIN_CELL == 5
