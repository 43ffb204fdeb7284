"""Steering figures: small hand-made populations whose figures are known, replay, suppression."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from contracts.common import CefrLevel, Site
from contracts.envelope import Agency, Envelope
from contracts.intake import (
    AsylumOutcome,
    CaseClosed,
    ClosingReason,
    ConsentGiven,
    ConsentMethod,
    ConsentWithdrawn,
    ContactChannel,
    ContactRecorded,
    DataCategory,
    FirstContactMade,
    HandOverAccepted,
    HandOverPackage,
    HandOverReason,
    HandOverRequested,
    IdentifierKind,
    IntakeEnvelope,
    InterpreterAssigned,
    InterpreterNoShow,
    InterpreterRequested,
    InterpreterSessionHeld,
    NoShowParty,
    PersonRegistered,
    ProfileRecorded,
    Purpose,
    Recipient,
    ResidenceStatus,
    WohnsitzauflageImposed,
)
from contracts.language import (
    CourseType,
    EnrolmentEnded,
    EnrolmentOutcome,
    EnrolmentStarted,
    EntitlementIssued,
    EntitlementKind,
    Exam,
    ExamTaken,
    Issuer,
    LanguageEnvelope,
)
from contracts.personal import Sealed
from contracts.placement import (
    FollowUpContactRecorded,
    PermissionDecided,
    PlacementEnvelope,
    PlacementKind,
    PlacementStarted,
)
from contracts.recognition import (
    AdaptationStarted,
    ApplicationSubmitted,
    CompetentAuthority,
    DecisionIssued,
    DecisionOutcome,
    Rechtsgrundlage,
    RecognitionEnvelope,
)
from contracts.topics import CODECS
from services.projections.steering import (
    FIGURES,
    MIN_CELL_PERSONS,
    AgeBand,
    AgeFacts,
    Cell,
    FigureRow,
    Rechtskreis,
    compute,
    fold,
    months_with_data,
    nearest_rank,
    turns_25_on,
)
from services.projections.steering_totals import CSV_COLUMNS, to_csv

SAMPLES = Path(__file__).resolve().parents[2] / "contracts" / "samples"
SEALED = Sealed(key_id="k-1", nonce="bm9uY2Vub25jZTEy", ciphertext="c2VjcmV0LW5hbWU=")
OLD = date(1990, 1, 1)  # a 25th birthday long past: everyone is "25 und älter"
MG_III_25 = Cell(Site.MG, Rechtskreis.SGB_III, AgeBand.FROM_25)
MG_II_25 = Cell(Site.MG, Rechtskreis.SGB_II, AgeBand.FROM_25)
_ENVELOPES: dict[str, Any] = {
    "intake": IntakeEnvelope,
    "language": LanguageEnvelope,
    "recognition": RecognitionEnvelope,
    "placement": PlacementEnvelope,
}


def _id(*parts: object) -> UUID:
    return uuid5(NAMESPACE_URL, "/".join(str(p) for p in parts))


class Person:
    """One case's streams, built event by event with stream versions per topic."""

    def __init__(
        self, name: str, allocated_on: date = date(2016, 1, 4), site: Site = Site.MG
    ) -> None:
        self.name = name
        self.case_id = _id("case", name)
        self.events: list[Envelope[Any]] = []
        self._versions: dict[str, int] = defaultdict(int)
        self.add(
            PersonRegistered(
                given_name=SEALED,
                family_name=SEALED,
                date_of_birth=SEALED,
                nationality="SYR",
                site=site,
                town="Mönchengladbach" if site is Site.MG else "Neuss",
                allocated_on=allocated_on,
            ),
            on=allocated_on,
        )

    def add(self, data: Any, on: date = date(2016, 1, 4), agency: Agency = Agency.AA_MG) -> Person:
        topic = data.type.split(".")[0]
        self._versions[topic] += 1
        version = self._versions[topic]
        self.events.append(
            _ENVELOPES[topic](
                event_id=_id("event", self.name, topic, version),
                case_id=self.case_id,
                stream_version=version,
                type=data.type,
                schema_version=data.schema_version,
                occurred_at=datetime.combine(on, time(10), tzinfo=UTC),
                agency=agency,
                correlation_id=_id("correlation", self.name, topic, version),
                data=data,
            )
        )
        return self

    def contact(self, on: date, by: Agency = Agency.AA_MG) -> Person:
        return self.add(
            ContactRecorded(contacted_on=on, channel=ContactChannel.PHONE, by_agency=by)
        )

    def hand_over(
        self,
        requested_on: date,
        accepted_on: date,
        *,
        to: Agency = Agency.JC_MG,
        reason: HandOverReason = HandOverReason.RECHTSKREISWECHSEL,
        new_site: Site | None = None,
        package: HandOverPackage | None = None,
    ) -> Person:
        handover_id = _id("handover", self.name, requested_on)
        from_agency = Agency.AA_MG if reason is HandOverReason.RECHTSKREISWECHSEL else Agency.JC_MG
        self.add(
            HandOverRequested(
                handover_id=handover_id,
                from_agency=from_agency,
                to_agency=to,
                reason=reason,
                package=package or full_package(),
                requested_on=requested_on,
            )
        )
        return self.add(
            HandOverAccepted(
                handover_id=handover_id,
                from_agency=from_agency,
                to_agency=to,
                reason=reason,
                accepted_on=accepted_on,
                new_site=new_site,
            ),
            agency=to,
        )


def full_package(**overrides: Any) -> HandOverPackage:
    fields: dict[str, Any] = {
        "identifiers": (IdentifierKind.BAMF_AKTENZEICHEN,),
        "residence_status": ResidenceStatus.AUFENTHALTSERLAUBNIS_25_2_GFK,
        "asylum_outcome": AsylumOutcome.FLUECHTLINGSEIGENSCHAFT,
        "profile_completeness_percent": 100,
        "language_level": CefrLevel.A2,
        "valid_consents": (_id("consent"),),
    }
    return HandOverPackage.model_validate(fields | overrides)


def people(prefix: str, count: int, **kwargs: Any) -> list[Person]:
    return [Person(f"{prefix}-{i}", **kwargs) for i in range(count)]


def events_of(persons: Iterable[Person]) -> list[Envelope[Any]]:
    return [event for person in persons for event in person.events]


def everyone_25_plus(persons: Iterable[Person]) -> dict[UUID, AgeFacts]:
    return {person.case_id: AgeFacts(OLD) for person in persons}


def run(persons: list[Person], month: str) -> list[FigureRow]:
    return compute(events_of(persons), month, everyone_25_plus(persons))


def row(rows: list[FigureRow], figure: str, cell: Cell = MG_III_25) -> FigureRow:
    return next(
        r
        for r in rows
        if r.figure == figure
        and (r.site, r.rechtskreis, r.age_band) == (cell.site, cell.rechtskreis, cell.age_band)
    )


def value(rows: list[FigureRow], figure: str, cell: Cell = MG_III_25) -> float | None:
    return row(rows, figure, cell).value


# --- a population touching every topic, for the replay tests --------------------------------


def mixed_population() -> list[Person]:
    persons = people("mixed", 6)
    for i, person in enumerate(persons):
        person.add(FirstContactMade(contacted_on=date(2016, 1, 10 + i)))
        person.add(ProfileRecorded(completeness_percent=50 + 10 * i), on=date(2016, 1, 20))
        entitlement = _id("entitlement", person.name)
        person.add(
            EntitlementIssued(
                entitlement_id=entitlement,
                course_type=CourseType.INTEGRATIONSKURS,
                kind=EntitlementKind.BERECHTIGUNG,
                issuer=Issuer.BAMF,
                issued_on=date(2016, 1, 15),
            )
        )
        person.add(
            EnrolmentStarted(
                enrolment_id=_id("enrolment", person.name),
                entitlement_id=entitlement,
                provider="VHS Mönchengladbach",
                course_number="216/12345",
                modules=("Basis 1",),
                started_on=date(2016, 1, 20 + i),
            )
        )
        person.add(
            ApplicationSubmitted(
                procedure_id=_id("procedure", person.name),
                authority=CompetentAuthority.IHK_FOSA,
                submitted_on=date(2016, 1, 5 + i),
            )
        )
        person.add(
            PlacementStarted(
                placement_id=_id("placement", person.name),
                kind=PlacementKind.PRAKTIKUM,
                employer="Bäckerei Jansen",
                started_on=date(2016, 1, 25),
            )
        )
    return persons


def interleavings(persons: list[Person]) -> list[list[Envelope[Any]]]:
    """Topic by topic; reversed topic order; round-robin; each keeping order per stream."""
    events = events_of(persons)
    by_topic: dict[str, list[Envelope[Any]]] = defaultdict(list)
    for event in events:
        by_topic[event.type.split(".")[0]].append(event)
    topics = sorted(by_topic)
    round_robin: list[Envelope[Any]] = []
    queues = [list(by_topic[t]) for t in topics]
    while any(queues):
        round_robin.extend(queue.pop(0) for queue in queues if queue)
    return [
        events,
        [e for t in topics for e in by_topic[t]],
        [e for t in reversed(topics) for e in by_topic[t]],
        round_robin,
    ]


def test_replay_in_any_interleaving_gives_identical_rows_and_csv() -> None:
    """The same events, interleaved differently across topics, give the same rows and CSV."""
    persons = mixed_population()
    ages = everyone_25_plus(persons)
    results = [compute(events, "2016-01", ages) for events in interleavings(persons)]
    assert all(result == results[0] for result in results)
    assert len({to_csv(result) for result in results}) == 1
    assert value(results[0], "language.in_course") == 6


def test_replay_ignores_redelivered_events() -> None:
    """An event delivered twice (at least once delivery) is counted once."""
    persons = mixed_population()
    once = run(persons, "2016-01")
    twice = compute(events_of(persons) + events_of(persons), "2016-01", everyone_25_plus(persons))
    assert once == twice


# --- suppression ------------------------------------------------------------------------------


def test_four_persons_are_suppressed() -> None:
    """A cell of 4 persons shows neither value nor person count."""
    rows = run(people("four", 4), "2016-01")
    caseload = row(rows, "caseload")
    assert MIN_CELL_PERSONS == 5
    assert (caseload.value, caseload.persons, caseload.suppressed) == (None, None, True)


def test_five_persons_are_shown() -> None:
    """A cell of 5 persons shows its value and count."""
    caseload = row(run(people("five", 5), "2016-01"), "caseload")
    assert (caseload.value, caseload.persons, caseload.suppressed) == (5.0, 5, False)


def test_every_cell_of_the_grid_is_exported() -> None:
    """Every figure has one row per site x Rechtskreis x age band, empty cells suppressed."""
    rows = run(people("grid", 5), "2016-01")
    assert len(rows) == len(FIGURES) * 3 * 2 * 2
    assert row(rows, "caseload", Cell(Site.GV, Rechtskreis.SGB_II, AgeBand.UNDER_25)).suppressed


# --- caseload, intake, exits -------------------------------------------------------------------


def test_caseload_intake_and_exits_by_reason() -> None:
    """Allocations count as intake; closed cases leave the caseload as exits by reason."""
    persons = people("flow", 7)
    for person in persons[:5]:
        person.add(CaseClosed(reason=ClosingReason.WORK, closed_on=date(2016, 3, 10)))
    assert value(run(persons, "2016-01"), "intake.allocation") == 7
    assert value(run(persons, "2016-02"), "caseload") == 7
    march = run(persons, "2016-03")
    assert value(march, "exits.closed.work") == 5
    assert value(march, "caseload") is None  # 2 still open: suppressed
    assert row(march, "exits.closed.other").suppressed


def test_rechtskreiswechsel_moves_the_person_to_sgb_ii() -> None:
    """An accepted Rechtskreiswechsel counts the person in SGB II from the acceptance day."""
    persons = people("rkw", 5)
    for person in persons:
        person.hand_over(requested_on=date(2016, 6, 10), accepted_on=date(2016, 6, 15))
    may, june = run(persons, "2016-05"), run(persons, "2016-06")
    assert value(may, "caseload", MG_III_25) == 5
    assert value(june, "caseload", MG_II_25) == 5
    assert row(june, "caseload", MG_III_25).suppressed
    assert value(june, "intake.handover", MG_II_25) == 5
    assert value(june, "exits.handover", MG_III_25) == 5


def test_site_changes_with_a_move_hand_over_not_with_the_assignment_alone() -> None:
    """A Jobcenter client assigned to another Jobcenter's town changes site when the move
    hand-over is accepted."""
    persons = people("move", 5)
    for person in persons:
        person.hand_over(date(2016, 6, 10), date(2016, 6, 15))
        person.add(
            WohnsitzauflageImposed(town="Neuss", site=Site.NE, effective_from=date(2016, 8, 1))
        )
        person.hand_over(
            date(2016, 8, 20),
            date(2016, 9, 1),
            to=Agency.JC_RKN,
            reason=HandOverReason.MOVE_BETWEEN_JOBCENTERS,
            new_site=Site.NE,
        )
    ne_ii_25 = Cell(Site.NE, Rechtskreis.SGB_II, AgeBand.FROM_25)
    assert value(run(persons, "2016-08"), "caseload", MG_II_25) == 5
    september = run(persons, "2016-09")
    assert value(september, "caseload", ne_ii_25) == 5
    assert value(september, "intake.handover", ne_ii_25) == 5
    assert value(september, "exits.handover", MG_II_25) == 5


def test_agentur_client_changes_site_with_the_assignment() -> None:
    """The Agentur serves every site: its client counts at the assigned site from its start."""
    persons = people("assigned", 5)
    for person in persons:
        person.add(
            WohnsitzauflageImposed(
                town="Grevenbroich", site=Site.GV, effective_from=date(2016, 4, 1)
            )
        )
    assert value(run(persons, "2016-03"), "caseload") == 5
    gv = Cell(Site.GV, Rechtskreis.SGB_III, AgeBand.FROM_25)
    assert value(run(persons, "2016-04"), "caseload", gv) == 5


def test_age_band_comes_from_the_callers_birthdays() -> None:
    """The caller's 25th birthdays decide the band on the observation day."""
    persons = people("young", 5)
    birthdays = {person.case_id: AgeFacts(date(2016, 5, 20)) for person in persons}
    mg_iii_u25 = Cell(Site.MG, Rechtskreis.SGB_III, AgeBand.UNDER_25)
    april = compute(events_of(persons), "2016-04", birthdays)
    may = compute(events_of(persons), "2016-05", birthdays)
    assert value(april, "caseload", mg_iii_u25) == 5
    assert value(may, "caseload", MG_III_25) == 5


def test_age_band_may_come_from_a_function_and_unknown_is_kept_apart() -> None:
    """A callable source works; a case missing from the mapping counts as unknown."""
    persons = people("callable", 5)
    rows = compute(events_of(persons), "2016-01", lambda _case, _day: AgeBand.UNDER_25)
    assert value(rows, "caseload", Cell(Site.MG, Rechtskreis.SGB_III, AgeBand.UNDER_25)) == 5
    unknown = compute(events_of(persons), "2016-01", {})
    assert value(unknown, "caseload", Cell(Site.MG, Rechtskreis.SGB_III, AgeBand.UNKNOWN)) == 5


# --- first contact and contact gaps -----------------------------------------------------------


def test_nearest_rank_median_and_p90() -> None:
    """Nearest rank: of 8, 14, 15 the median is 14 and the P90 is 15."""
    assert nearest_rank([15, 8, 14], 50) == 14
    assert nearest_rank([15, 8, 14], 90) == 15
    assert nearest_rank([1, 2, 3, 4], 50) == 2


def test_days_to_first_contact() -> None:
    """First contacts after 3, 8, 14, 15, 30 days: median 14, P90 30, 60 % within 14 days."""
    persons = people("contact", 5, allocated_on=date(2016, 1, 1))
    for person, days in zip(persons, (8, 14, 15, 3, 30), strict=True):
        person.add(FirstContactMade(contacted_on=date(2016, 1, 1 + days)))
    january = run(persons, "2016-01")
    assert value(january, "first_contact.days_median") == 14
    assert value(january, "first_contact.days_p90") == 30
    assert value(january, "first_contact.within_14_days_share") == 60.0
    assert row(run(persons, "2016-02"), "first_contact.days_median").suppressed


def test_persons_waiting_over_14_days_for_a_first_contact() -> None:
    """Open cases allocated more than 14 days before month end and not yet contacted."""
    waiting = people("waiting", 5, allocated_on=date(2016, 1, 16))  # 15 days by 31 Jan
    in_time = people("in-time", 5, allocated_on=date(2016, 1, 17))  # 14 days by 31 Jan
    rows = run(waiting + in_time, "2016-01")
    assert value(rows, "first_contact.outstanding_over_14_days") == 5


def test_contact_gap_of_91_days_counts_90_does_not() -> None:
    """Contact gaps: 91 days since the last contact at month end count, 90 do not."""
    gap_91 = people("gap91", 5)
    gap_90 = people("gap90", 5)
    for person in gap_91:
        person.add(FirstContactMade(contacted_on=date(2016, 1, 5))).contact(date(2016, 3, 31))
    for person in gap_90:
        person.add(FirstContactMade(contacted_on=date(2016, 1, 5))).contact(date(2016, 4, 1))
    rows = run(gap_91 + gap_90, "2016-06")  # 30 June: 91 and 90 days later
    assert value(rows, "contact_gap.over_90_days") == 5


# --- profile, language, recognition -----------------------------------------------------------


def test_profile_completeness() -> None:
    """Latest profile per open case, a missing one counting 0 %: mean 66, 40 % complete."""
    persons = people("profile", 5)
    for person, percent in zip(persons, (100, 100, 50, None, 80), strict=True):
        if percent is not None:
            person.add(ProfileRecorded(completeness_percent=20), on=date(2016, 1, 10))
            person.add(ProfileRecorded(completeness_percent=percent), on=date(2016, 2, 10))
    rows = run(persons, "2016-02")
    assert value(rows, "profile.completeness_mean") == 66.0
    assert value(rows, "profile.complete_share") == 40.0
    assert value(run(persons, "2016-01"), "profile.complete_share") == 0.0


def _language_person(person: Person, started_on: date) -> Person:
    entitlement = _id("entitlement", person.name)
    person.add(
        EntitlementIssued(
            entitlement_id=entitlement,
            course_type=CourseType.INTEGRATIONSKURS,
            kind=EntitlementKind.VERPFLICHTUNG,
            issuer=Issuer.ABH,
            issuing_agency=Agency.STADT_MG,
            issued_on=date(2016, 3, 1),
        )
    )
    return person.add(
        EnrolmentStarted(
            enrolment_id=_id("enrolment", person.name),
            entitlement_id=entitlement,
            provider="VHS Mönchengladbach",
            course_number="216/12345",
            modules=("Basis 1",),
            started_on=started_on,
        )
    )


def _end(person: Person, outcome: EnrolmentOutcome, on: date) -> None:
    person.add(
        EnrolmentEnded(enrolment_id=_id("enrolment", person.name), outcome=outcome, ended_on=on)
    )


def _dtz(person: Person, result: CefrLevel | None, on: date) -> None:
    person.add(
        ExamTaken(
            enrolment_id=_id("enrolment", person.name), exam=Exam.DTZ, result=result, taken_on=on
        )
    )


def test_language_pipeline() -> None:
    """Entitlement to start (median 40 days), in course, completed, dropped, B1 rate 60 %."""
    persons = people("language", 10)
    starts = (1, 5, 10, 20, 30)  # April: 31, 35, 40, 50, 60 days after 1 March
    for i, person in enumerate(persons):
        _language_person(person, date(2016, 4, starts[i % 5]))
    completers, droppers = persons[:5], persons[5:]
    for person in droppers:
        _end(person, EnrolmentOutcome.DROPPED, date(2016, 7, 15))
    results = (CefrLevel.B1, CefrLevel.B1, CefrLevel.A2, None, CefrLevel.A2)
    for person, result in zip(completers, results, strict=True):
        _dtz(person, result, date(2016, 9, 5))
        _end(person, EnrolmentOutcome.COMPLETED, date(2016, 9, 20))
    _dtz(completers[4], CefrLevel.B1, date(2016, 9, 19))  # second attempt reaches B1

    march, april = run(persons, "2016-03"), run(persons, "2016-04")
    assert value(march, "language.entitlements_issued") == 10
    assert value(april, "language.entitlement_to_start_days_median") == 40
    assert value(april, "language.in_course") == 10
    july = run(persons, "2016-07")
    assert value(july, "language.dropped") == 5
    assert value(july, "language.in_course") == 5
    september = run(persons, "2016-09")
    assert value(september, "language.completed") == 5
    assert value(september, "language.b1_rate") == 60.0
    assert row(september, "language.in_course").suppressed


def test_recognition_figures() -> None:
    """Applications, median days to decision (140), outcome split, adaptation starts."""
    persons = people("recognition", 5)
    for person, decided in zip(persons, (1, 10, 20, 25, 30), strict=True):
        procedure = _id("procedure", person.name)
        person.add(
            ApplicationSubmitted(
                procedure_id=procedure,
                authority=CompetentAuthority.IHK_FOSA,
                submitted_on=date(2016, 2, 1),
            )
        )
        person.add(
            DecisionIssued(
                procedure_id=procedure,
                authority=CompetentAuthority.IHK_FOSA,
                reference_occupation="26212",
                outcome=DecisionOutcome.TEILWEISE_GLEICHWERTIGKEIT,
                missing_competences=("VDE-Vorschriften",),
                legal_basis=Rechtsgrundlage.BQFG,
                decided_on=date(2016, 6, decided),
            )
        )
        person.add(
            AdaptationStarted(
                procedure_id=procedure,
                measure_id=_id("adaptation", person.name),
                provider="Elektro Schmitz GmbH",
                started_on=date(2016, 7, 4),
            )
        )
    assert value(run(persons, "2016-02"), "recognition.applications") == 5
    june = run(persons, "2016-06")
    assert value(june, "recognition.days_to_decision_median") == 140  # 121,130,140,145,150
    assert value(june, "recognition.decision.partial") == 5
    assert row(june, "recognition.decision.full").suppressed
    assert value(run(persons, "2016-07"), "recognition.adaptation_started") == 5


# --- permission, hand-over, placement, interpreters, consent ----------------------------------


def test_work_permission_decisions() -> None:
    """Persons granted and refused a work permission in the month."""
    persons = people("permission", 6)
    for i, person in enumerate(persons):
        person.add(
            PermissionDecided(
                request_id=_id("request", person.name),
                granted=i < 5,
                refusal_reason=None if i < 5 else "Vorrangprüfung",
                decided_on=date(2016, 9, 1),
                rule_version="beschv-2016-08-06",
            )
        )
    september = run(persons, "2016-09")
    assert value(september, "permission.granted") == 5
    assert row(september, "permission.refused").suppressed


def test_complete_package_share() -> None:
    """4 of 5 Rechtskreiswechsel packages complete (one lacks the language level): 80 %."""
    persons = people("quality", 5)
    for i, person in enumerate(persons):
        package = full_package(language_level=None) if i == 0 else full_package()
        person.hand_over(date(2016, 6, 3), date(2016, 6, 5), package=package)
    june = run(persons, "2016-06")
    assert value(june, "handover.complete_package_share", MG_III_25) == 80.0


def test_days_between_last_aa_and_first_jc_contact() -> None:
    """Days 10, 20, 30, 40, 50 from the last AA contact to the first JC contact: median 30."""
    persons = people("aa-jc", 5)
    last_aa = (date(2016, 6, 20), date(2016, 6, 10), date(2016, 5, 31), date(2016, 5, 21))
    for person, last in zip(persons, (*last_aa, date(2016, 5, 11)), strict=True):
        person.add(FirstContactMade(contacted_on=date(2016, 1, 10))).contact(last)
        person.hand_over(date(2016, 6, 3), date(2016, 6, 5))
        person.contact(date(2016, 6, 30), by=Agency.JC_MG).contact(
            date(2016, 7, 5), by=Agency.JC_MG
        )
    rows = run(persons, "2016-06")
    assert value(rows, "handover.aa_to_jc_contact_days_median", MG_II_25) == 30
    assert row(
        run(persons, "2016-07"), "handover.aa_to_jc_contact_days_median", MG_II_25
    ).suppressed


def work_started(placement: UUID, on: date) -> PlacementStarted:
    return PlacementStarted(
        placement_id=placement,
        kind=PlacementKind.BESCHAEFTIGUNG,
        employer="Logistik Niederrhein GmbH",
        started_on=on,
    )


def test_placements_and_still_in_post_after_6_and_12_months() -> None:
    """Starts count as persons; a follow-up in post on or after the mark confirms it once."""
    persons = people("placement", 7)
    for i, person in enumerate(persons):
        placement = _id("placement", person.name)
        person.add(work_started(placement, date(2016, 1, 15)))
        if i < 5:
            for day in (date(2016, 7, 15), date(2016, 7, 28), date(2017, 1, 15)):
                person.add(
                    FollowUpContactRecorded(
                        placement_id=placement, contacted_on=day, still_in_post=True
                    )
                )
        elif i == 5:  # one day before the 6-month mark: no confirmation
            person.add(
                FollowUpContactRecorded(
                    placement_id=placement, contacted_on=date(2016, 7, 14), still_in_post=True
                )
            )
        else:  # after the mark but no longer in post
            person.add(
                FollowUpContactRecorded(
                    placement_id=placement, contacted_on=date(2016, 7, 20), still_in_post=False
                )
            )
    assert value(run(persons, "2016-01"), "placement.started.work") == 7
    july = run(persons, "2016-07")
    assert value(july, "placement.in_post_6_months") == 5
    assert row(july, "placement.in_post_12_months").suppressed
    january = run(persons, "2017-01")
    assert value(january, "placement.in_post_12_months") == 5
    assert row(january, "placement.in_post_6_months").suppressed  # confirmed once, in July


def test_six_months_in_post_from_31_august_run_out_with_february() -> None:
    """A start on 2016-08-31: six months end with 28 Feb 2017 (§§ 187 (2), 188 (3) BGB), so a
    follow-up on 02-28 confirms nothing and one on 03-01 does."""
    early, on_time = people("feb-28", 5), people("mar-1", 5)
    for persons, day in ((early, date(2017, 2, 28)), (on_time, date(2017, 3, 1))):
        for person in persons:
            placement = _id("placement", person.name)
            person.add(work_started(placement, date(2016, 8, 31))).add(
                FollowUpContactRecorded(
                    placement_id=placement, contacted_on=day, still_in_post=True
                )
            )

    assert row(run(early, "2017-02"), "placement.in_post_6_months").suppressed
    assert row(run(early, "2017-03"), "placement.in_post_6_months").suppressed
    assert value(run(on_time, "2017-03"), "placement.in_post_6_months") == 5


def test_interpreter_requests_and_failures() -> None:
    """Two requests per person; failures: interpreter no-show or never assigned."""
    persons = people("interpreter", 5)
    for i, person in enumerate(persons):
        for slot in (1, 2):
            request_id = _id("interpreter", person.name, slot)
            person.add(
                InterpreterRequested(
                    request_id=request_id,
                    language="ar",
                    slot_start=datetime(2016, 5, 10 + slot, 9, tzinfo=UTC),
                    cost_bearer=Agency.AA_MG,
                ),
                on=date(2016, 5, 2),
            )
            if slot == 2 and i >= 3:
                continue  # never assigned: a failure
            person.add(
                InterpreterAssigned(request_id=request_id, interpreter_ref="SM-17"),
                on=date(2016, 5, 3),
            )
            if slot == 2:
                person.add(InterpreterNoShow(request_id=request_id, party=NoShowParty.INTERPRETER))
            else:
                person.add(InterpreterNoShow(request_id=request_id, party=NoShowParty.CLIENT))
    may = run(persons, "2016-05")
    assert value(may, "interpreter.requests") == 10
    assert row(may, "interpreter.requests").persons == 5
    assert value(may, "interpreter.failures") == 5


def _booked(person: Person, slot: date, recorded: date, assigned: date | None) -> UUID:
    """An interpreter request for ``slot``, recorded on ``recorded``, assigned on ``assigned``."""
    request_id = _id("booking", person.name, slot)
    person.add(
        InterpreterRequested(
            request_id=request_id,
            language="ar",
            slot_start=datetime.combine(slot, time(9), tzinfo=UTC),
            cost_bearer=Agency.AA_MG,
        ),
        on=recorded,
    )
    if assigned is not None:
        person.add(InterpreterAssigned(request_id=request_id, interpreter_ref="SM-3"), on=assigned)
    return request_id


def test_bookings_recorded_days_before_their_slots_fail_only_by_a_no_show() -> None:
    """Requests and assignments entered 1-3 days before the slot: five sessions held are no
    failure, five interpreter no-shows (entered after the slot) are five failures."""
    persons = people("booked-early", 5)
    for i, person in enumerate(persons):
        for k, outcome in enumerate(("held", "no-show")):
            slot = date(2016, 6, 6 + 7 * k + i % 3)
            ahead = timedelta(days=1 + (i + k) % 3)
            request_id = _booked(person, slot, slot - ahead, slot - ahead)
            if outcome == "held":
                person.add(InterpreterSessionHeld(request_id=request_id), on=slot)
            else:
                no_show = InterpreterNoShow(request_id=request_id, party=NoShowParty.INTERPRETER)
                person.add(no_show, on=slot + timedelta(days=1))
    june = run(persons, "2016-06")
    assert value(june, "interpreter.requests") == 10
    assert value(june, "interpreter.failures") == 5
    assert row(june, "interpreter.failures").persons == 5


def test_a_session_held_is_no_failure_whenever_its_assignment_was_entered() -> None:
    """Assignments entered days after the appointment: a session held and a client not coming
    are no failure, so five interpreter no-shows are five failures (not ten, not fifteen)."""
    persons = people("entered-late", 5)
    for i, person in enumerate(persons):
        for k, party in enumerate((None, NoShowParty.CLIENT, NoShowParty.INTERPRETER)):
            slot = date(2016, 6, 6 + 7 * k + i % 3)
            late = slot + timedelta(days=1 + i % 3)
            request_id = _booked(person, slot, slot - timedelta(days=2), late)
            if party is None:
                person.add(InterpreterSessionHeld(request_id=request_id), on=late)
            else:
                person.add(InterpreterNoShow(request_id=request_id, party=party), on=late)
    june = run(persons, "2016-06")
    assert value(june, "interpreter.requests") == 15
    assert value(june, "interpreter.failures") == 5


def test_share_of_open_cases_with_a_valid_consent() -> None:
    """Valid on the last day: 3 of 5 (one withdrawn, one expired before)."""
    persons = people("consent", 5)
    for i, person in enumerate(persons):
        consent_id = _id("consent", person.name)
        person.add(
            ConsentGiven(
                consent_id=consent_id,
                purposes=(Purpose.COUNSELLING,),
                recipients=(Recipient(agency=Agency.JC_MG),),
                data_categories=(DataCategory.PROFILE,),
                notice_version="2016-01",
                notice_language="ar",
                method=ConsentMethod.WRITTEN,
                given_on=date(2016, 2, 1),
                valid_until=date(2016, 3, 30) if i == 4 else None,
            )
        )
        if i == 3:
            person.add(ConsentWithdrawn(consent_id=consent_id, withdrawn_on=date(2016, 3, 5)))
    assert value(run(persons, "2016-02"), "consent.valid_share") == 100.0
    assert value(run(persons, "2016-03"), "consent.valid_share") == 60.0


# --- registry and CSV -------------------------------------------------------------------------


def test_every_figure_has_a_unique_versioned_definition() -> None:
    """Unique keys, a version "key@n" and a description per figure."""
    keys = [figure.key for figure in FIGURES]
    assert len(keys) == len(set(keys))
    for figure in FIGURES:
        assert figure.version == f"{figure.key}@{figure.revision}"
        assert len(figure.description) > 20


def test_csv_has_header_versions_and_empty_suppressed_values() -> None:
    """The CSV starts with its header, names each figure's version, blanks suppressed cells."""
    persons = people("csv", 5)
    text = to_csv(run(persons, "2016-01"))
    records = list(csv.DictReader(io.StringIO(text)))
    assert text.splitlines()[0] == ",".join(CSV_COLUMNS)
    caseload = next(
        r
        for r in records
        if r["version"] == "caseload@1"
        and r["site"] == "MG"
        and r["rechtskreis"] == "SGB III"
        and r["age_band"] == "25 und älter"
    )
    assert (caseload["value"], caseload["persons"], caseload["suppressed"]) == ("5", "5", "false")
    hidden = next(r for r in records if r["suppressed"] == "true")
    assert (hidden["value"], hidden["persons"]) == ("", "")
    assert {r["month"] for r in records} == {"2016-01"}


def test_no_case_id_or_personal_field_in_the_output() -> None:
    """Neither case ids nor sealed personal values reach the rows or the CSV."""
    persons = mixed_population()
    text = to_csv(run(persons, "2016-01"))
    for person in persons:
        assert str(person.case_id) not in text
        assert person.name not in text
    assert SEALED.ciphertext not in text
    assert SEALED.key_id not in text


def test_golden_samples_compute_without_leaking() -> None:
    """The golden samples of all four topics fold and export with no id or sealed value."""
    paths = sorted(SAMPLES.glob("*/*.json"))
    raw = [json.loads(path.read_text(encoding="utf-8")) for path in paths]
    envelopes = [
        CODECS[path.parent.name].parse(data) for path, data in zip(paths, raw, strict=True)
    ]
    text = to_csv(compute(envelopes, "2016-06", {}))
    for data in raw:
        assert data["case_id"] not in text
        assert data["event_id"] not in text
    assert "ciphertext" not in text
    assert "key_id" not in text


def test_turns_25_is_kept_only_where_the_band_can_change() -> None:
    """Under 25 when allocated: the 25th birthday; older: a day before every day."""
    assert turns_25_on(date(1995, 2, 28), date(2016, 1, 4)) == date(2020, 2, 28)
    # Born on 29 Feb: 25 years end with 28 Feb 2021 (§§ 187 (2), 188 (2), (3) BGB).
    assert turns_25_on(date(1996, 2, 29), date(2016, 1, 4)) == date(2021, 3, 1)
    assert turns_25_on(date(1980, 6, 1), date(2016, 1, 4)) == date.min
    assert turns_25_on(date(1991, 1, 4), date(2016, 1, 4)) == date.min  # 25 on the day


def test_an_erasure_keeps_the_band_up_to_it_without_the_birthday() -> None:
    """Under 25 on the erasure day: under 25 up to it, unknown after; the birthday goes."""
    young = AgeFacts(date(2017, 7, 19))
    erased = young.erased(date(2016, 9, 1))
    assert erased == AgeFacts(date.max, known_until=date(2016, 9, 1))
    for day in (date(2016, 2, 1), date(2016, 9, 1)):
        assert erased.band(day) == young.band(day) == AgeBand.UNDER_25
    assert erased.band(date(2016, 9, 2)) == AgeBand.UNKNOWN
    assert erased.erased(date(2016, 12, 1)) == erased  # a second erasure says no more


def test_a_birthday_in_the_cases_time_stays_as_its_month_only() -> None:
    """Turned 25 before the erasure: the month stays, the day goes; 25 or older when
    allocated says nothing of the birthday and stays as it is."""
    turned = AgeFacts(date(2016, 5, 20))
    erased = turned.erased(date(2016, 9, 1))
    assert erased == AgeFacts(date(2016, 5, 1))
    assert erased.band(date(2016, 4, 30)) == AgeBand.UNDER_25
    assert erased.band(date(2016, 5, 31)) == turned.band(date(2016, 5, 31)) == AgeBand.FROM_25
    assert erased.band(date(2030, 1, 1)) == AgeBand.FROM_25
    assert AgeFacts(date.min).erased(date(2016, 9, 1)) == AgeFacts(date.min)


def test_figures_up_to_the_erasure_do_not_change() -> None:
    """Five persons under 25 erased in September: every figure of every month up to August
    is what it was; from October on they count under "unbekannt"."""
    persons = people("erased", 5)
    known = {p.case_id: AgeFacts(date(2017, 7, 19)) for p in persons}
    left = {case: facts.erased(date(2016, 9, 1)) for case, facts in known.items()}
    for month in ("2016-01", "2016-03", "2016-08"):
        assert compute(events_of(persons), month, left) == compute(events_of(persons), month, known)
    october = compute(events_of(persons), "2016-10", left)
    assert value(october, "caseload", Cell(Site.MG, Rechtskreis.SGB_III, AgeBand.UNKNOWN)) == 5


def test_months_with_data_are_the_months_something_happened() -> None:
    """Allocation, contact and closing months, oldest first; an unregistered case none."""
    persons = [
        Person("months-0").contact(date(2016, 3, 2)),
        Person("months-1", allocated_on=date(2016, 2, 1)),
    ]
    records = fold(events_of(persons)).values()
    assert months_with_data(records) == ["2016-01", "2016-02", "2016-03"]
    lone = Person("lone").contact(date(2016, 9, 1))
    lone.events = lone.events[1:]  # its registration never came
    assert months_with_data(fold(lone.events).values()) == []
