"""The pure recognition decider: both scenarios end to end, and the rules of a procedure
from counselling to the application, without a broker or a database."""

from __future__ import annotations

from datetime import date
from uuid import UUID

import pytest

from contracts.recognition import (
    AdaptationCompleted,
    AdaptationStarted,
    ApplicationSubmitted,
    Beratungsstelle,
    Berufsbereich,
    CompetenceAssessed,
    CompetentAuthority,
    CompetentAuthorityAssigned,
    CounsellingHeld,
    DecisionIssued,
    DecisionOutcome,
    Kompetenzfeststellung,
    ProtectedTitle,
    ProtectedTitlePermitted,
    QualificationKind,
    Rechtsgrundlage,
    RecognitionEvent,
    ReferenceOccupationSet,
    ZabStatementIssued,
)
from services.chassis.rules import InvalidTransitionError
from services.recognition.commands import (
    AssignCompetentAuthority,
    CompleteAdaptation,
    IssueDecision,
    IssueZabStatement,
    PermitProtectedTitle,
    RecognitionCommand,
    RecordCompetenceAssessment,
    RecordCounselling,
    RequestDocuments,
    SetReferenceOccupation,
    StartAdaptation,
    SubmitApplication,
)
from services.recognition.domain import Recognition, decide, fold

CASE = UUID("0192f1a0-7c3e-7a51-9b6e-3f0c2d1e4a55")
PROC = UUID("0192f1a0-9d00-7000-8000-00000000e001")
OTHER = UUID("0192f1a0-9d00-7000-8000-00000000e002")
MEASURE = UUID("0192f1a0-9d00-7000-8000-00000000a001")
HOCHSCHULE, BERUF = QualificationKind.HOCHSCHULABSCHLUSS, QualificationKind.BERUFSABSCHLUSS
ZAB, HWK = CompetentAuthority.ZAB, CompetentAuthority.HWK_DUESSELDORF
IHK, BEZREG = CompetentAuthority.IHK_FOSA, CompetentAuthority.BEZIRKSREGIERUNG_DUESSELDORF


def counselling(kind: QualificationKind = BERUF, on: date = date(2016, 3, 1)) -> RecordCounselling:
    return RecordCounselling(
        procedure_id=PROC,
        qualification_kind=kind,
        qualification_title="Elektriker" if kind is BERUF else "Bachelor Civil Engineering",
        country="IRQ" if kind is BERUF else "SYR",
        counselled_by=Beratungsstelle.IQ_BERATUNG,
        held_on=on,
    )


def reference(
    bereich: Berufsbereich = Berufsbereich.HANDWERK, *, regulated: bool = False
) -> SetReferenceOccupation:
    return SetReferenceOccupation(
        procedure_id=PROC,
        kldb="26212",
        title="Elektroniker/in",
        regulated=regulated,
        bereich=bereich,
    )


def authority(body: CompetentAuthority) -> AssignCompetentAuthority:
    return AssignCompetentAuthority(procedure_id=PROC, authority=body)


def apply(on: date = date(2016, 4, 1)) -> SubmitApplication:
    return SubmitApplication(procedure_id=PROC, submitted_on=on)


def history_of(*commands: RecognitionCommand) -> list[RecognitionEvent]:
    """Decide each command on the state the previous ones left."""
    history: list[RecognitionEvent] = []
    for command in commands:
        history += decide(fold(CASE, history), command)
    return history


def play(*commands: RecognitionCommand) -> Recognition | None:
    return fold(CASE, history_of(*commands))


def rule_of(case: Recognition | None, command: RecognitionCommand) -> str:
    with pytest.raises(InvalidTransitionError) as refused:
        decide(case, command)
    return refused.value.rule


def test_syrian_civil_engineer_gets_zab_statement_and_ingenieur_title() -> None:
    """Hochschulabschluss: counselling, ZAB, Zeugnisbewertung, then "Ingenieur" from the
    Bezirksregierung Düsseldorf."""
    steps: list[RecognitionCommand] = [
        counselling(HOCHSCHULE),
        SetReferenceOccupation(
            procedure_id=PROC,
            kldb="31104",
            title="Bauingenieur/in",
            regulated=False,
            bereich=Berufsbereich.AKADEMISCH,
        ),
        authority(ZAB),
        apply(date(2016, 3, 10)),
        IssueZabStatement(
            procedure_id=PROC,
            comparable_to="Bachelor Bauingenieurwesen",
            issued_on=date(2016, 6, 20),
        ),
        PermitProtectedTitle(
            procedure_id=PROC,
            title=ProtectedTitle.INGENIEUR,
            authority=BEZREG,
            granted_on=date(2016, 8, 15),
        ),
    ]
    history = history_of(*steps)

    assert [type(e) for e in history] == [
        CounsellingHeld,
        ReferenceOccupationSet,
        CompetentAuthorityAssigned,
        ApplicationSubmitted,
        ZabStatementIssued,
        ProtectedTitlePermitted,
    ]
    case = fold(CASE, history)
    assert case is not None
    procedure = case.procedures[PROC]
    assert procedure.zab_statement_on == date(2016, 6, 20)
    assert procedure.titles == {ProtectedTitle.INGENIEUR}
    assert procedure.outcome is None  # the ZAB answers with a statement, not a Bescheid


def test_iraqi_electrician_partial_then_adaptation_then_full() -> None:
    """HWK Düsseldorf: partial recognition with gaps, adaptation in the job, then full."""
    steps: list[RecognitionCommand] = [
        counselling(BERUF),
        reference(Berufsbereich.HANDWERK),
        authority(HWK),
        apply(),
        IssueDecision(
            procedure_id=PROC,
            outcome=DecisionOutcome.TEILWEISE_GLEICHWERTIGKEIT,
            missing_competences=("Installation nach VDE 0100", "KNX-Gebäudesystemtechnik"),
            legal_basis=Rechtsgrundlage.BQFG,
            decided_on=date(2016, 9, 12),
        ),
        StartAdaptation(
            procedure_id=PROC,
            measure_id=MEASURE,
            provider="Elektro Schmitz GmbH",
            started_on=date(2016, 10, 4),
        ),
        CompleteAdaptation(procedure_id=PROC, measure_id=MEASURE, completed_on=date(2017, 3, 31)),
        IssueDecision(
            procedure_id=PROC,
            outcome=DecisionOutcome.VOLLE_GLEICHWERTIGKEIT,
            legal_basis=Rechtsgrundlage.BQFG,
            decided_on=date(2017, 4, 20),
        ),
    ]
    history = history_of(*steps)

    assert [type(e) for e in history][4:] == [
        DecisionIssued,
        AdaptationStarted,
        AdaptationCompleted,
        DecisionIssued,
    ]
    partial, full = history[4], history[7]
    assert isinstance(partial, DecisionIssued)
    assert isinstance(full, DecisionIssued)
    assert partial.missing_competences == ("Installation nach VDE 0100", "KNX-Gebäudesystemtechnik")
    assert (full.outcome, full.authority, full.reference_occupation) == (
        DecisionOutcome.VOLLE_GLEICHWERTIGKEIT,
        HWK,
        "26212",
    )
    case = fold(CASE, history)
    assert case is not None
    assert case.procedures[PROC].outcome is DecisionOutcome.VOLLE_GLEICHWERTIGKEIT


def test_counselling_opens_a_procedure_only_once() -> None:
    """A procedure id is opened by one counselling; a second one with that id is refused."""
    case = play(counselling())

    assert rule_of(case, counselling()) == "procedure.already_opened"


def test_steps_need_an_opened_procedure() -> None:
    """Every procedure step names a procedure that counselling opened, in this case."""
    other = counselling().model_copy(update={"procedure_id": OTHER})

    assert rule_of(None, reference()) == "procedure.unknown"
    assert rule_of(play(other), apply()) == "procedure.unknown"


def test_procedures_of_one_person_are_independent() -> None:
    """A second qualification has its own procedure; the first one's state is untouched."""
    second = counselling(HOCHSCHULE).model_copy(update={"procedure_id": OTHER})
    case = play(counselling(), reference(), authority(HWK), second)

    assert case is not None
    assert case.procedures[PROC].authority is HWK
    assert case.procedures[OTHER].authority is None
    assert case.procedures[OTHER].kind is HOCHSCHULE


def test_competence_assessment_needs_no_procedure_but_is_recorded_once() -> None:
    """An assessment belongs to the case; the same assessment id twice is refused."""
    assessment = RecordCompetenceAssessment(
        assessment_id=MEASURE,
        method=Kompetenzfeststellung.MYSKILLS,
        occupation="26212",
        result_summary="Elektroinstallation: hohe Handlungskompetenz",
        assessed_on=date(2016, 5, 18),
    )

    events = decide(None, assessment)

    assert [type(e) for e in events] == [CompetenceAssessed]
    case = fold(CASE, events)
    assert rule_of(case, assessment) == "competence_assessment.already_recorded"


def test_referenzberuf_may_change_until_the_authority_is_assigned() -> None:
    """A corrected Referenzberuf is fine; once the authority is chosen for it, it is fixed."""
    case = play(counselling(), reference(Berufsbereich.INDUSTRIE_HANDEL), reference())

    assert case is not None
    reference_now = case.procedures[PROC].reference
    assert reference_now is not None
    assert reference_now.bereich is Berufsbereich.HANDWERK
    assert (
        rule_of(play(counselling(), reference(), authority(HWK)), reference())
        == "reference_occupation.fixed_once_authority_assigned"
    )


def test_academic_referenzberuf_needs_a_university_degree() -> None:
    """A vocational qualification cannot be compared with an academic occupation."""
    case = play(counselling(BERUF))

    assert (
        rule_of(case, reference(Berufsbereich.AKADEMISCH))
        == "reference_occupation.academic_needs_hochschulabschluss"
    )


AKADEMISCH = reference(Berufsbereich.AKADEMISCH)
AKADEMISCH_REGULATED = reference(Berufsbereich.AKADEMISCH, regulated=True)
IHK_OCCUPATION = reference(Berufsbereich.INDUSTRIE_HANDEL)
CRAFT = reference(Berufsbereich.HANDWERK)
CRAFT_REGULATED = reference(Berufsbereich.HANDWERK, regulated=True)
LAND_LAW = reference(Berufsbereich.LANDESRECHT, regulated=True)


@pytest.mark.parametrize(
    ("kind", "referenzberuf", "right", "wrong", "rule"),
    [
        (HOCHSCHULE, None, ZAB, BEZREG, "authority.unregulated_degree_to_zab"),
        (HOCHSCHULE, AKADEMISCH, ZAB, IHK, "authority.unregulated_degree_to_zab"),
        (
            HOCHSCHULE,
            AKADEMISCH_REGULATED,
            BEZREG,
            ZAB,
            "authority.regulated_degree_to_bezirksregierung",
        ),
        (BERUF, IHK_OCCUPATION, IHK, HWK, "authority.ihk_occupation_to_ihk_fosa"),
        (BERUF, CRAFT, HWK, IHK, "authority.craft_to_hwk"),
        (BERUF, CRAFT_REGULATED, HWK, BEZREG, "authority.craft_to_hwk"),
        (BERUF, LAND_LAW, BEZREG, ZAB, "authority.land_law_to_bezirksregierung"),
    ],
)
def test_authority_must_match_the_zustaendigkeit(
    kind: QualificationKind,
    referenzberuf: SetReferenceOccupation | None,
    right: CompetentAuthority,
    wrong: CompetentAuthority,
    rule: str,
) -> None:
    """Each qualification goes to one body; another one is refused naming the rule."""
    case = play(counselling(kind), *([referenzberuf] if referenzberuf else []))

    assert decide(case, authority(right)) == [
        CompetentAuthorityAssigned(procedure_id=PROC, authority=right)
    ]
    assert rule_of(case, authority(wrong)) == rule


def test_vocational_qualification_needs_a_referenzberuf_for_its_authority() -> None:
    """Without a Referenzberuf no chamber can be named for a Berufsabschluss."""
    assert (
        rule_of(play(counselling(BERUF)), authority(HWK)) == "authority.needs_reference_occupation"
    )


def test_authority_may_be_corrected_until_the_application() -> None:
    """Reassigning is allowed before the application and refused after it."""
    case = play(counselling(), reference(), authority(HWK), authority(HWK))

    assert case is not None
    assert rule_of(play(counselling(), reference(), authority(HWK), apply()), authority(HWK)) == (
        "authority.fixed_after_application"
    )


def test_application_needs_an_authority_and_goes_once() -> None:
    """No application without an authority; a second application is refused."""
    assert rule_of(play(counselling(), reference()), apply()) == "application.needs_authority"
    applied = play(counselling(), reference(), authority(HWK), apply())
    assert rule_of(applied, apply()) == "application.already_submitted"


def test_zab_application_needs_no_referenzberuf() -> None:
    """A university degree goes to the ZAB without a Referenzberuf; the event names the ZAB."""
    case = play(counselling(HOCHSCHULE), authority(ZAB))

    assert decide(case, apply()) == [
        ApplicationSubmitted(procedure_id=PROC, authority=ZAB, submitted_on=date(2016, 4, 1))
    ]


def test_application_on_counselling_day_is_allowed_but_not_before() -> None:
    """An application on the day of counselling counts; the day before is refused."""
    case = play(counselling(on=date(2016, 3, 1)), reference(), authority(HWK))

    assert len(decide(case, apply(date(2016, 3, 1)))) == 1
    assert rule_of(case, apply(date(2016, 2, 29))) == "application.not_before_counselling"


def request(on: date, due: date) -> RequestDocuments:
    return RequestDocuments(
        procedure_id=PROC, documents=("Arbeitszeugnisse",), requested_on=on, due_on=due
    )


def test_documents_are_requested_on_a_pending_application_only() -> None:
    """Before the application, and after the authority's answer, nothing is requested."""
    before = play(counselling(), reference(), authority(HWK))
    zab_answered = play(
        counselling(HOCHSCHULE),
        authority(ZAB),
        apply(),
        IssueZabStatement(procedure_id=PROC, comparable_to="Bachelor", issued_on=date(2016, 5, 2)),
    )

    assert rule_of(before, request(date(2016, 4, 2), date(2016, 5, 2))) == (
        "documents.needs_application"
    )
    assert rule_of(zab_answered, request(date(2016, 5, 3), date(2016, 6, 3))) == (
        "documents.procedure_decided"
    )


def test_documents_requested_on_application_day_but_not_before() -> None:
    """A request on the application day counts; the day before is refused."""
    case = play(counselling(), reference(), authority(HWK), apply(date(2016, 4, 1)))

    assert len(decide(case, request(date(2016, 4, 1), date(2016, 4, 2)))) == 1
    assert rule_of(case, request(date(2016, 3, 31), date(2016, 4, 30))) == (
        "documents.not_before_application"
    )
