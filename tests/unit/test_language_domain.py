"""The pure language decider: every rule that needs the person's path (409), with boundaries."""

from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

import pytest

from contracts.common import CefrLevel
from contracts.envelope import Agency
from contracts.language import (
    CourseType,
    DropReason,
    EnrolmentEnded,
    EnrolmentOutcome,
    EntitlementIssued,
    EntitlementKind,
    Issuer,
    IssuerChanged,
    LanguageEvent,
)
from services.chassis.rules import InvalidTransitionError
from services.language.commands import (
    EndEnrolment,
    IssueEntitlement,
    LanguageCommand,
    RecordAttendance,
    RecordExam,
    RecordPlacementTest,
    StartEnrolment,
    TransferEntitlements,
)
from services.language.domain import decide, fold
from services.language.state import LanguagePath

CASE = UUID("0192f1a0-7c3e-7a51-9b6e-3f0c2d1e4a55")
IK, BSK, BSK2 = (UUID(f"0192f1a0-9a00-7000-8000-00000000e00{n}") for n in (1, 2, 3))
FIRST, SECOND = (UUID(f"0192f1a0-9a00-7000-8000-00000000c00{n}") for n in (1, 2))
HANDOVER = UUID("0192f1a0-9a00-7000-8000-00000000a001")


def issue(entitlement_id: UUID = IK, **overrides: Any) -> IssueEntitlement:
    fields: dict[str, Any] = {
        "entitlement_id": entitlement_id,
        "course_type": "integrationskurs",
        "kind": "berechtigung",
        "issuer": "bamf",
        "issued_on": date(2016, 3, 1),
    }
    return IssueEntitlement.model_validate({**fields, **overrides})


def berufssprachkurs(
    entitlement_id: UUID = BSK, target: str | None = None, agency: Agency = Agency.AA_MG
) -> IssueEntitlement:
    issuer = "agentur" if agency is Agency.AA_MG else "jobcenter"
    return issue(
        entitlement_id,
        course_type="berufssprachkurs_basis" if target else "berufssprachkurs_spezial",
        target_level=target,
        issuer=issuer,
        issuing_agency=agency,
    )


def placement(level: str, on: date = date(2016, 2, 20)) -> RecordPlacementTest:
    return RecordPlacementTest.model_validate({"level": level, "taken_on": on})


def start(
    enrolment_id: UUID = FIRST, entitlement_id: UUID = IK, on: date = date(2016, 4, 4)
) -> StartEnrolment:
    return StartEnrolment(
        enrolment_id=enrolment_id,
        entitlement_id=entitlement_id,
        provider="VHS Mönchengladbach",
        course_number="216/30001",
        modules=("Basismodul 1",),
        started_on=on,
    )


def attend(month: str, enrolment_id: UUID = FIRST) -> RecordAttendance:
    return RecordAttendance(
        enrolment_id=enrolment_id, month=month, units_scheduled=80, units_attended=76
    )


def exam(
    result: str | None, enrolment_id: UUID = FIRST, on: date = date(2016, 10, 20)
) -> RecordExam:
    return RecordExam.model_validate(
        {"enrolment_id": enrolment_id, "exam": "dtz", "result": result, "taken_on": on}
    )


def end(
    enrolment_id: UUID = FIRST, on: date = date(2016, 10, 31), reason: str | None = None
) -> EndEnrolment:
    return EndEnrolment.model_validate(
        {
            "enrolment_id": enrolment_id,
            "outcome": "dropped" if reason else "completed",
            "drop_reason": reason,
            "ended_on": on,
        }
    )


def transfer(
    from_agency: Agency = Agency.AA_MG,
    to_agency: Agency = Agency.JC_MG,
    on: date = date(2016, 11, 15),
) -> TransferEntitlements:
    return TransferEntitlements(
        handover_id=HANDOVER, from_agency=from_agency, to_agency=to_agency, effective_on=on
    )


def history(*commands: LanguageCommand) -> list[LanguageEvent]:
    events: list[LanguageEvent] = []
    for command in commands:
        events += decide(fold(CASE, events), command)
    return events


def path(*commands: LanguageCommand) -> LanguagePath:
    return fold(CASE, history(*commands))


def refusal(before: list[LanguageCommand], command: LanguageCommand) -> str:
    with pytest.raises(InvalidTransitionError) as refused:
        decide(path(*before), command)
    return refused.value.rule


# --- entitlements ---------------------------------------------------------------------------


def test_entitlement_is_recorded_as_issued() -> None:
    """An entitlement is the first event a person's path may have, recorded as given."""
    events = decide(None, berufssprachkurs(target="B2"))

    assert events == [
        EntitlementIssued(
            entitlement_id=BSK,
            course_type=CourseType.BERUFSSPRACHKURS_BASIS,
            target_level=CefrLevel.B2,
            kind=EntitlementKind.BERECHTIGUNG,
            issuer=Issuer.AGENTUR,
            issuing_agency=Agency.AA_MG,
            issued_on=date(2016, 3, 1),
        )
    ]


def test_an_entitlement_id_is_issued_once() -> None:
    """The same entitlement cannot be issued twice."""
    assert refusal([issue()], issue()) == "entitlement.already_issued"


# --- starting an enrolment ------------------------------------------------------------------


def test_enrolment_needs_an_entitlement() -> None:
    """No enrolment without an entitlement of the person."""
    assert refusal([], start()) == "enrolment.needs_entitlement"


def test_enrolment_starts_on_the_issue_date_but_not_the_day_before() -> None:
    """An enrolment may start the day its entitlement is issued, not earlier."""
    on_the_day = decide(path(issue()), start(on=date(2016, 3, 1)))

    assert len(on_the_day) == 1
    assert refusal([issue()], start(on=date(2016, 2, 29))) == "enrolment.not_before_entitlement"


def test_an_entitlement_carries_one_enrolment() -> None:
    """Once used, an entitlement cannot start another enrolment."""
    used: list[LanguageCommand] = [issue(), start(), end()]

    assert refusal(used, start(SECOND, on=date(2016, 11, 2))) == "enrolment.entitlement_used"


def test_only_one_running_enrolment_at_a_time() -> None:
    """A second enrolment waits until the running one has ended."""
    running: list[LanguageCommand] = [placement("B1"), issue(), berufssprachkurs(), start()]

    assert refusal(running, start(SECOND, BSK)) == "enrolment.one_at_a_time"


def test_next_enrolment_may_start_on_the_day_the_last_ended_not_before() -> None:
    """Enrolments do not overlap in time: the next starts on or after the last one's end."""
    ended: list[LanguageCommand] = [
        placement("B1"),
        issue(),
        berufssprachkurs(),
        start(),
        end(on=date(2016, 10, 31)),
    ]

    assert decide(path(*ended), start(SECOND, BSK, on=date(2016, 10, 31)))
    assert refusal(ended, start(SECOND, BSK, on=date(2016, 10, 30))) == "enrolment.one_at_a_time"


def test_an_enrolment_id_is_used_once() -> None:
    """An enrolment id names one enrolment only."""
    ended: list[LanguageCommand] = [placement("B1"), issue(), berufssprachkurs(), start(), end()]

    assert refusal(ended, start(FIRST, BSK, on=date(2016, 11, 2))) == "enrolment.already_started"


@pytest.mark.parametrize("target", [None, "B2"])
def test_berufssprachkurs_needs_b1_exactly_a2_is_not_enough(target: str | None) -> None:
    """A Berufssprachkurs starts from B1 (placement test); A2 without an Integrationskurs is
    refused."""
    entitlement = berufssprachkurs(target=target)

    assert decide(path(placement("B1"), entitlement), start(entitlement_id=BSK))
    assert (
        refusal([placement("A2"), entitlement], start(entitlement_id=BSK))
        == "enrolment.berufssprachkurs_needs_b1"
    )


def test_berufssprachkurs_with_unknown_level_is_refused() -> None:
    """Without any tested or certified level, B1 is not shown."""
    assert (
        refusal([berufssprachkurs()], start(entitlement_id=BSK))
        == "enrolment.berufssprachkurs_needs_b1"
    )


def test_b1_from_an_exam_result_counts() -> None:
    """A DTZ passed at B1 opens the Basismodul B2, with no placement test."""
    after_dtz: list[LanguageCommand] = [
        issue(),
        start(),
        exam("B1"),
        end(),
        berufssprachkurs(target="B2"),
    ]

    assert decide(path(*after_dtz), start(SECOND, BSK, on=date(2016, 11, 2)))


def test_completed_integrationskurs_opens_a_spezialmodul_without_b1() -> None:
    """Completing the Integrationskurs (DTZ at A2) is enough for a Spezialmodul."""
    completed: list[LanguageCommand] = [issue(), start(), exam("A2"), end(), berufssprachkurs()]

    assert decide(path(*completed), start(SECOND, BSK, on=date(2016, 11, 2)))


def test_dropped_integrationskurs_does_not_open_a_berufssprachkurs() -> None:
    """Only a completed Integrationskurs stands in for B1, not a dropped one."""
    dropped: list[LanguageCommand] = [
        placement("A2"),
        issue(),
        start(),
        end(reason="work"),
        berufssprachkurs(),
    ]

    assert (
        refusal(dropped, start(SECOND, BSK, on=date(2016, 11, 2)))
        == "enrolment.berufssprachkurs_needs_b1"
    )


def test_basismodul_starts_one_level_below_its_target() -> None:
    """A Basismodul to C1 needs B2: B1 (enough for the general B1 rule) is refused."""
    to_c1 = berufssprachkurs(target="C1")

    assert decide(path(placement("B2"), to_c1), start(entitlement_id=BSK))
    assert (
        refusal([placement("B1"), to_c1], start(entitlement_id=BSK))
        == "enrolment.basismodul_entry_level"
    )


def test_completed_integrationskurs_at_a2_does_not_open_a_basismodul() -> None:
    """A Basismodul to B2 needs B1 itself: the completed Integrationskurs does not replace it."""
    completed: list[LanguageCommand] = [
        issue(),
        start(),
        exam("A2"),
        end(),
        berufssprachkurs(target="B2"),
    ]

    assert (
        refusal(completed, start(SECOND, BSK, on=date(2016, 11, 2)))
        == "enrolment.basismodul_entry_level"
    )


def test_the_best_level_shown_counts() -> None:
    """A later, weaker placement test does not take away a B1 already shown."""
    assert path(placement("B1"), placement("A2", on=date(2016, 5, 1))).level is CefrLevel.B1


# --- attendance -----------------------------------------------------------------------------


def test_attendance_in_the_start_month_is_allowed_not_the_month_before() -> None:
    """Attendance starts with the month the enrolment started (4 April 2016: 2016-04)."""
    running: list[LanguageCommand] = [issue(), start(on=date(2016, 4, 4))]

    assert decide(path(*running), attend("2016-04"))
    assert refusal(running, attend("2016-03")) == "attendance.not_before_start"


def test_attendance_is_recorded_once_per_month() -> None:
    """A second record for the same month is refused; the next month is fine."""
    recorded: list[LanguageCommand] = [issue(), start(), attend("2016-04")]

    assert decide(path(*recorded), attend("2016-05"))
    assert refusal(recorded, attend("2016-04")) == "attendance.one_per_month"


def test_attendance_needs_a_running_enrolment() -> None:
    """Once the enrolment ended, no more attendance is recorded for it."""
    assert (
        refusal([issue(), start(), end()], attend("2016-10")) == "attendance.enrolment_not_running"
    )


def test_attendance_of_an_unknown_enrolment_is_refused() -> None:
    """Attendance names an enrolment of this person."""
    assert refusal([issue()], attend("2016-04")) == "enrolment.unknown"


# --- exams ----------------------------------------------------------------------------------


def test_exam_within_the_running_or_just_completed_enrolment() -> None:
    """An exam counts in the running enrolment and after it completed (results come late)."""
    assert decide(path(issue(), start()), exam("B1"))
    assert decide(path(issue(), start(), end()), exam("B1", on=date(2016, 11, 5)))


def test_exam_of_a_dropped_enrolment_is_refused() -> None:
    """A dropped enrolment takes no exam."""
    assert refusal([issue(), start(), end(reason="moved")], exam("A2")) == "exam.enrolment_dropped"


def test_exam_of_an_enrolment_followed_by_another_is_refused() -> None:
    """Once a later enrolment started, the completed one is no longer 'just completed'."""
    later: list[LanguageCommand] = [issue(), start(), exam("B1"), end(), berufssprachkurs()]
    later.append(start(SECOND, BSK, on=date(2016, 11, 2)))

    assert refusal(later, exam("B1", on=date(2016, 11, 5))) == "exam.enrolment_superseded"


def test_exam_on_the_start_day_is_allowed_not_the_day_before() -> None:
    """An exam of an enrolment is not dated before it started."""
    running: list[LanguageCommand] = [issue(), start(on=date(2016, 4, 4))]

    assert decide(path(*running), exam("A2", on=date(2016, 4, 4)))
    assert refusal(running, exam("A2", on=date(2016, 4, 3))) == "exam.not_before_start"


def test_failed_exam_leaves_the_level_unchanged() -> None:
    """A failed exam (no result) shows no level."""
    assert path(placement("A2"), issue(), start(), exam(None)).level is CefrLevel.A2


# --- ending ---------------------------------------------------------------------------------


def test_enrolment_may_end_on_its_start_day_not_the_day_before() -> None:
    """ended_on == started_on is allowed; the day before is refused."""
    running: list[LanguageCommand] = [issue(), start(on=date(2016, 4, 4))]

    assert decide(path(*running), end(on=date(2016, 4, 4)))
    assert refusal(running, end(on=date(2016, 4, 3))) == "enrolment.not_ended_before_start"


def test_dropped_enrolment_records_its_reason() -> None:
    """A drop-out is recorded with its reason (a steering figure)."""
    events = decide(path(issue(), start()), end(reason="childcare"))

    assert events == [
        EnrolmentEnded(
            enrolment_id=FIRST,
            outcome=EnrolmentOutcome.DROPPED,
            drop_reason=DropReason.CHILDCARE,
            ended_on=date(2016, 10, 31),
        )
    ]


def test_an_enrolment_ends_once() -> None:
    """An ended enrolment cannot end again."""
    assert refusal([issue(), start(), end()], end()) == "enrolment.already_ended"


def test_ending_an_unknown_enrolment_is_refused() -> None:
    """The end names an enrolment of this person."""
    assert refusal([], end()) == "enrolment.unknown"


# --- hand-over ------------------------------------------------------------------------------


def test_hand_over_moves_only_the_handing_over_agencys_entitlements() -> None:
    """AA -> JC-MG moves the Agentur's entitlement; the BAMF's and the ABH's stay put."""
    by_abh = issue(BSK2, kind="verpflichtung", issuer="abh", issuing_agency="STADT-MG")

    events = decide(path(issue(), by_abh, berufssprachkurs()), transfer())

    assert events == [
        IssuerChanged(
            entitlement_id=BSK,
            from_agency=Agency.AA_MG,
            to_agency=Agency.JC_MG,
            handover_id=HANDOVER,
            effective_on=date(2016, 11, 15),
        )
    ]


def test_hand_over_leaves_the_running_enrolment_running() -> None:
    """The entitlement's issuer changes; the enrolment on it does not."""
    before = path(placement("B1"), berufssprachkurs(), start(entitlement_id=BSK), attend("2016-04"))

    after = path(
        placement("B1"),
        berufssprachkurs(),
        start(entitlement_id=BSK),
        attend("2016-04"),
        transfer(),
    )

    moved = after.entitlements[BSK]
    assert (moved.agency, moved.issuer) == (Agency.JC_MG, Issuer.JOBCENTER)
    assert moved.enrolment_id == FIRST
    assert after.enrolments == before.enrolments
    assert after.running_enrolment() == before.running_enrolment()
    assert decide(after, attend("2016-05"))  # attendance carries on under the Jobcenter


def test_hand_over_between_jobcenters_moves_the_jobcenters_obligation() -> None:
    """JC-MG -> JC-RKN (Wohnsitzauflage elsewhere) moves JC-MG's Integrationskurs obligation."""
    obliged = issue(kind="verpflichtung", issuer="jobcenter", issuing_agency="JC-MG")

    events = decide(path(obliged), transfer(Agency.JC_MG, Agency.JC_RKN))

    assert events == [
        IssuerChanged(
            entitlement_id=IK,
            from_agency=Agency.JC_MG,
            to_agency=Agency.JC_RKN,
            handover_id=HANDOVER,
            effective_on=date(2016, 11, 15),
        )
    ]


def test_hand_over_for_an_unknown_person_changes_nothing() -> None:
    """A person the language service never saw has nothing to move."""
    assert decide(None, transfer()) == []


def test_entitlements_issued_after_the_hand_over_stay_with_their_issuer() -> None:
    """Only what the handing-over agency issued up to the hand-over moves with the case."""
    late = berufssprachkurs()
    on_the_day = path(late.model_copy(update={"issued_on": date(2016, 11, 15)}))
    day_after = path(late.model_copy(update={"issued_on": date(2016, 11, 16)}))

    assert len(decide(on_the_day, transfer())) == 1
    assert decide(day_after, transfer()) == []


def test_hand_over_to_an_auslaenderbehoerde_moves_nothing() -> None:
    """Entitlements move only between the Agentur and the Jobcenters."""
    assert decide(path(berufssprachkurs()), transfer(Agency.AA_MG, Agency.STADT_MG)) == []


def test_a_moved_entitlement_does_not_move_twice() -> None:
    """After the move, the old agency no longer answers for the entitlement."""
    assert decide(path(berufssprachkurs(), transfer()), transfer()) == []
