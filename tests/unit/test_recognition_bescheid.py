"""The pure recognition decider after the application: the Bescheid, the adaptation
qualification, the ZAB statement and protected titles, each rule at its date boundary."""

from __future__ import annotations

from datetime import date, timedelta
from uuid import UUID

import pytest

from contracts.recognition import DecisionIssued, DecisionOutcome, ProtectedTitle, Rechtsgrundlage
from services.recognition.commands import (
    CompleteAdaptation,
    IssueDecision,
    IssueZabStatement,
    PermitProtectedTitle,
    RecognitionCommand,
    RequestDocuments,
    StartAdaptation,
)
from services.recognition.domain import Recognition, decide
from tests.unit.test_recognition_domain import (
    AKADEMISCH_REGULATED,
    BERUF,
    BEZREG,
    CRAFT,
    HOCHSCHULE,
    HWK,
    PROC,
    ZAB,
    apply,
    authority,
    counselling,
    play,
    rule_of,
)

APPLIED_ON = date(2016, 4, 1)
M1 = UUID("0192f1a0-9d00-7000-8000-00000000a001")
M2 = UUID("0192f1a0-9d00-7000-8000-00000000a002")
PARTIAL, FULL = DecisionOutcome.TEILWEISE_GLEICHWERTIGKEIT, DecisionOutcome.VOLLE_GLEICHWERTIGKEIT
NONE = DecisionOutcome.KEINE_GLEICHWERTIGKEIT
NO_COOPERATION = DecisionOutcome.ABGELEHNT_MANGELNDE_MITWIRKUNG
DAY = timedelta(days=1)


def decision(outcome: DecisionOutcome, on: date) -> IssueDecision:
    return IssueDecision(
        procedure_id=PROC,
        outcome=outcome,
        missing_competences=("Installation nach VDE 0100",) if outcome is PARTIAL else (),
        legal_basis=Rechtsgrundlage.BQFG,
        decided_on=on,
    )


def start(measure: UUID, on: date) -> StartAdaptation:
    return StartAdaptation(procedure_id=PROC, measure_id=measure, provider="Elektro", started_on=on)


def complete(measure: UUID, on: date) -> CompleteAdaptation:
    return CompleteAdaptation(procedure_id=PROC, measure_id=measure, completed_on=on)


def applied(*more: RecognitionCommand) -> Recognition | None:
    """An electrician's procedure at the HWK, applied for on APPLIED_ON, then ``more``."""
    return play(counselling(BERUF), CRAFT, authority(HWK), apply(APPLIED_ON), *more)


PARTIALLY_RECOGNISED = (decision(PARTIAL, date(2016, 9, 12)),)
ADAPTED = (*PARTIALLY_RECOGNISED, start(M1, date(2016, 10, 4)), complete(M1, date(2017, 3, 31)))


def degree(*more: RecognitionCommand) -> Recognition | None:
    """A university degree at the ZAB, applied for on APPLIED_ON, then ``more``."""
    return play(counselling(HOCHSCHULE), authority(ZAB), apply(APPLIED_ON), *more)


def zab(on: date) -> IssueZabStatement:
    return IssueZabStatement(procedure_id=PROC, comparable_to="Bachelor", issued_on=on)


def title(on: date = date(2016, 8, 15)) -> PermitProtectedTitle:
    return PermitProtectedTitle(
        procedure_id=PROC, title=ProtectedTitle.INGENIEUR, authority=BEZREG, granted_on=on
    )


# --- the Bescheid ---------------------------------------------------------------------------


def test_decision_is_self_contained() -> None:
    """The Bescheid carries authority, Referenzberuf, outcome and legal basis for its readers."""
    assert decide(applied(), decision(NONE, date(2016, 6, 1))) == [
        DecisionIssued(
            procedure_id=PROC,
            authority=HWK,
            reference_occupation="26212",
            outcome=NONE,
            legal_basis=Rechtsgrundlage.BQFG,
            decided_on=date(2016, 6, 1),
        )
    ]


def test_decision_needs_an_application() -> None:
    """No Bescheid before the application."""
    case = play(counselling(BERUF), CRAFT, authority(HWK))

    assert rule_of(case, decision(FULL, APPLIED_ON)) == "decision.needs_application"


def test_zab_procedure_gets_no_bescheid() -> None:
    """The ZAB answers with a Zeugnisbewertung, never with a Bescheid."""
    assert rule_of(degree(), decision(FULL, APPLIED_ON)) == "decision.zab_issues_statement"


def test_decision_on_application_day_but_not_before() -> None:
    """A Bescheid on the day of the application counts; the day before is refused."""
    assert len(decide(applied(), decision(FULL, APPLIED_ON))) == 1
    assert rule_of(applied(), decision(FULL, APPLIED_ON - DAY)) == (
        "decision.not_before_application"
    )


@pytest.mark.parametrize("first", [FULL, PARTIAL, NONE])
def test_second_decision_only_after_a_completed_adaptation(first: DecisionOutcome) -> None:
    """Once decided, a new Bescheid needs an adaptation qualification completed since."""
    case = applied(decision(first, date(2016, 9, 12)))

    assert rule_of(case, decision(FULL, date(2017, 1, 2))) == "decision.only_after_adaptation"


def test_no_decision_while_an_adaptation_runs() -> None:
    """The new Bescheid waits until the running measure is completed."""
    case = applied(*PARTIALLY_RECOGNISED, start(M1, date(2016, 10, 4)))

    assert rule_of(case, decision(FULL, date(2017, 1, 2))) == "decision.adaptation_still_running"


def test_new_decision_on_completion_day_but_not_before() -> None:
    """After the adaptation the new Bescheid may come the same day, not earlier."""
    case = applied(*ADAPTED)

    assert len(decide(case, decision(FULL, date(2017, 3, 31)))) == 1
    assert rule_of(case, decision(FULL, date(2017, 3, 30))) == (
        "decision.not_before_adaptation_completed"
    )


def request(due: date) -> RequestDocuments:
    return RequestDocuments(
        procedure_id=PROC, documents=("Arbeitszeugnisse",), requested_on=APPLIED_ON, due_on=due
    )


def test_refusal_for_lack_of_cooperation_needs_an_overdue_request() -> None:
    """Without a documents request, or on its deadline day, the refusal is premature."""
    due = date(2016, 5, 2)
    requested = applied(request(due))

    assert rule_of(applied(), decision(NO_COOPERATION, due + DAY)) == (
        "decision.mitwirkung_needs_overdue_documents"
    )
    assert rule_of(requested, decision(NO_COOPERATION, due)) == (
        "decision.mitwirkung_needs_overdue_documents"
    )
    assert decide(requested, decision(NO_COOPERATION, due + DAY))[0].type == (
        "recognition.decision_issued"
    )


def test_a_decision_answers_the_documents_request() -> None:
    """After the Bescheid no documents are pending; after an adaptation they may be again."""
    decided = applied(decision(FULL, date(2016, 6, 1)))

    assert rule_of(decided, request(date(2016, 7, 1))) == "documents.procedure_decided"
    assert len(decide(applied(*ADAPTED), request(date(2017, 5, 2)))) == 1


# --- the adaptation qualification -----------------------------------------------------------


@pytest.mark.parametrize("latest", [None, FULL, NONE])
def test_adaptation_follows_a_partial_recognition_only(latest: DecisionOutcome | None) -> None:
    """Without a partial Bescheid there are no gaps to close."""
    case = applied(*([decision(latest, date(2016, 9, 12))] if latest else []))

    assert rule_of(case, start(M1, date(2016, 10, 4))) == "adaptation.needs_partial_decision"


def test_adaptation_starts_on_decision_day_but_not_before() -> None:
    """The measure may start the day of the partial Bescheid, not the day before."""
    case = applied(*PARTIALLY_RECOGNISED)

    assert len(decide(case, start(M1, date(2016, 9, 12)))) == 1
    assert rule_of(case, start(M1, date(2016, 9, 11))) == "adaptation.not_before_decision"


def test_one_adaptation_at_a_time_each_with_its_own_id() -> None:
    """A second measure waits for the first; a completed measure's id is not reused."""
    running = applied(*PARTIALLY_RECOGNISED, start(M1, date(2016, 10, 4)))
    completed = applied(*ADAPTED)

    assert rule_of(running, start(M2, date(2016, 11, 1))) == "adaptation.already_running"
    assert rule_of(completed, start(M1, date(2017, 4, 3))) == "adaptation.measure_id_taken"
    assert len(decide(completed, start(M2, date(2017, 4, 3)))) == 1


def test_only_the_running_measure_is_completed() -> None:
    """Completing an unknown or no measure is refused."""
    running = applied(*PARTIALLY_RECOGNISED, start(M1, date(2016, 10, 4)))

    assert rule_of(running, complete(M2, date(2017, 3, 31))) == "adaptation.not_running"
    assert rule_of(applied(*ADAPTED), complete(M1, date(2017, 4, 1))) == "adaptation.not_running"


def test_adaptation_completed_on_its_start_day_but_not_before() -> None:
    """completed_on == started_on is allowed; the day before is refused."""
    case = applied(*PARTIALLY_RECOGNISED, start(M1, date(2016, 10, 4)))

    assert len(decide(case, complete(M1, date(2016, 10, 4)))) == 1
    assert rule_of(case, complete(M1, date(2016, 10, 3))) == "adaptation.not_before_start"


# --- ZAB statement and protected titles ------------------------------------------------------


def test_zab_statement_only_for_a_degree_applied_for_at_the_zab() -> None:
    """A vocational qualification, a degree at another authority, or one not yet applied for
    gets no ZAB statement."""
    elsewhere = play(counselling(HOCHSCHULE), AKADEMISCH_REGULATED, authority(BEZREG))
    not_applied = play(counselling(HOCHSCHULE), authority(ZAB))

    assert rule_of(applied(), zab(APPLIED_ON)) == "zab_statement.needs_hochschulabschluss"
    assert rule_of(elsewhere, zab(APPLIED_ON)) == "zab_statement.needs_zab"
    assert rule_of(not_applied, zab(APPLIED_ON)) == "zab_statement.needs_application"


def test_zab_statement_once_and_not_before_the_application() -> None:
    """The statement may come on the application day, not before, and only once."""
    assert len(decide(degree(), zab(APPLIED_ON))) == 1
    assert rule_of(degree(), zab(APPLIED_ON - DAY)) == "zab_statement.not_before_application"
    assert rule_of(degree(zab(APPLIED_ON)), zab(APPLIED_ON)) == "zab_statement.already_issued"


def test_protected_title_needs_a_university_degree() -> None:
    """ "Ingenieur" is not permitted on a vocational qualification."""
    assert rule_of(applied(), title()) == "protected_title.needs_hochschulabschluss"


def test_protected_title_once_and_not_before_counselling() -> None:
    """The title may be permitted on the counselling day, not before, and only once."""
    counselled = play(counselling(HOCHSCHULE, on=date(2016, 3, 1)))

    assert len(decide(counselled, title(date(2016, 3, 1)))) == 1
    assert rule_of(counselled, title(date(2016, 2, 29))) == "protected_title.not_before_counselling"
    assert rule_of(degree(title()), title()) == "protected_title.already_permitted"
