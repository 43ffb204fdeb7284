"""Steering figures: monthly aggregates per site x Rechtskreis x age band (issue 4); the
totals the two steering rounds look at, and their secondary suppression, are added in
``steering_totals`` (what the API publishes).

Pure: the caller hands in the parsed envelopes of the four domain topics, the month and the
source of the age band; nothing here reads a clock, a file or the network. Replaying the same
events, in any interleaving across topics, gives the same rows (see ``compute``).

How a figure is built:

* Events are folded per case into a ``CaseRecord`` of dated facts. Only facts dated on or
  before the last day of the month count, so a month's figures do not move when later
  months' events arrive. Facts without a business date (a profile) are dated by the
  envelope's ``occurred_at`` in Europe/Berlin. An interpreter booking is judged by its
  outcome, never by the day its assignment was entered (often after the appointment): it
  failed when the interpreter did not come or none was ever assigned and no session held.
* Each figure looks at one case at a time and yields at most one observation per person:
  the day the observation belongs to and a number. The person is counted in the cell they
  were in on that day, so a person who changes cell never appears twice in one figure.
* The cell's value aggregates its persons' observations (count, sum, share in percent,
  mean, nearest-rank median or P90). Cells with fewer than ``MIN_CELL_PERSONS`` persons are
  suppressed: no value, and no person count either, because the small count is itself the
  disclosure. Beside totals, more cells are suppressed (``steering_totals.publish``).

Cells: the site, Rechtskreis and age band on the observation day. The site is the one of the
registration, changed by a Wohnsitzauflage while the responsible agency stays the same, and
by the ``new_site`` of an accepted move hand-over. The Rechtskreis follows the responsible
agency: SGB III while the Agentur is responsible, SGB II once a hand-over to a Jobcenter
(Rechtskreiswechsel) is accepted. The date of birth travels sealed, so the age band comes
from the caller (the projection that holds the persons' keys): either a function
``(case_id, day) -> AgeBand`` or a mapping from case id to the person's 25th birthday; a case
missing from the mapping is counted under ``AgeBand.UNKNOWN``.

Not a personal field and no case id ever leaves this module: rows carry only cell keys,
figure names and numbers.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Any, Final, TypeVar
from uuid import UUID

from contracts.common import CefrLevel, Site
from contracts.envelope import Agency, Envelope
from contracts.intake import (
    CaseClosed,
    ClosingReason,
    ConsentExpired,
    ConsentGiven,
    ConsentWithdrawn,
    ContactRecorded,
    FirstContactMade,
    HandOverAccepted,
    HandOverPackage,
    HandOverReason,
    HandOverRequested,
    IdentifierKind,
    InterpreterAssigned,
    InterpreterNoShow,
    InterpreterRequested,
    InterpreterSessionHeld,
    NoShowParty,
    PersonRegistered,
    ProfileRecorded,
    WohnsitzauflageImposed,
)
from contracts.language import (
    EnrolmentEnded,
    EnrolmentOutcome,
    EnrolmentStarted,
    EntitlementIssued,
    Exam,
    ExamTaken,
)
from contracts.placement import (
    FollowUpContactRecorded,
    PermissionDecided,
    PlacementEnded,
    PlacementKind,
    PlacementStarted,
)
from contracts.recognition import (
    AdaptationCompleted,
    AdaptationStarted,
    ApplicationSubmitted,
    DecisionIssued,
    DecisionOutcome,
)
from services.chassis.calendar import BERLIN
from services.chassis.periods import Counting, first_day_after, period_end

MIN_CELL_PERSONS: Final = 5  # cells with fewer persons are suppressed (DOMAIN.md: "< 5")
CONTACT_GAP_DAYS: Final = 90  # a gap counts when strictly more days passed without contact
FIRST_CONTACT_TARGET_DAYS: Final = 14
IN_POST_MONTHS: Final = (6, 12)
ADULT_BAND_YEARS: Final = 25  # the age band's boundary: "unter 25" / "25 und älter"

# Hand-overs that move a case to another agency; the JBA route stays with the same agency.
TRANSFERS: Final = frozenset(
    {HandOverReason.RECHTSKREISWECHSEL, HandOverReason.MOVE_BETWEEN_JOBCENTERS}
)
JOBCENTERS: Final = frozenset({Agency.JC_MG, Agency.JC_RKN})


class Rechtskreis(StrEnum):
    SGB_III = "SGB III"  # the Agentur für Arbeit is responsible
    SGB_II = "SGB II"  # a Jobcenter is responsible


class AgeBand(StrEnum):
    UNDER_25 = "unter 25"
    FROM_25 = "25 und älter"
    UNKNOWN = "unbekannt"  # the caller could not tell (e.g. the person's key was shredded)


@dataclass(frozen=True)
class AgeFacts:
    """What the figures know of a person's age band: from when 25 or older, and up to which
    day that is known (after an erasure, no further)."""

    turns_25_on: date  # date.min: 25 or older on every day; date.max: under 25 on every day
    known_until: date = date.max

    def band(self, day: date) -> AgeBand:
        if day > self.known_until:
            return AgeBand.UNKNOWN
        return AgeBand.UNDER_25 if day < self.turns_25_on else AgeBand.FROM_25

    def erased(self, erased_on: date) -> AgeFacts:
        """What may stay after the person's erasure, without the birth date: the figures of
        every day up to the erasure keep their band, nothing is said of later days.

        Under 25 on the erasure day: under 25 up to it (the birthday is not kept). Turned 25
        while the case ran: only the month (statistics, Art. 17(3)(d) with Art. 89(1)
        DSGVO: minimised, not the day); in that month the band may read "25 und älter"
        before the birthday. 25 or older when allocated: nothing to hide.
        """
        if self.turns_25_on == date.min:
            return self
        if self.turns_25_on > erased_on:
            return AgeFacts(date.max, known_until=min(erased_on, self.known_until))
        return AgeFacts(self.turns_25_on.replace(day=1), self.known_until)


AgeBandSource = Callable[[UUID, date], AgeBand] | Mapping[UUID, AgeFacts]


@dataclass(frozen=True, order=True)
class Cell:
    site: Site
    rechtskreis: Rechtskreis
    age_band: AgeBand


@dataclass(frozen=True)
class Month:
    """A calendar month; ``last`` is also the cut-off for the facts a figure may use."""

    first: date
    last: date

    @classmethod
    def parse(cls, text: str) -> Month:
        year, month = (int(part) for part in text.split("-"))
        first = date(year, month, 1)
        return cls(first, period_end(first, 1, Counting.FROM_START_OF_DAY))

    @property
    def label(self) -> str:
        return f"{self.first.year:04d}-{self.first.month:02d}"

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.first <= day <= self.last


# --- the per-case record ---------------------------------------------------------------------


@dataclass
class Enrolment:
    entitlement_id: UUID
    started_on: date
    ended_on: date | None = None
    outcome: EnrolmentOutcome | None = None


@dataclass
class Placement:
    kind: PlacementKind
    started_on: date
    ended_on: date | None = None


@dataclass
class InterpreterBooking:
    slot_day: date
    # The day the assignment was recorded: when it was entered, not when it was agreed (it
    # may be entered after the appointment), so it never judges whether the booking failed.
    assigned_on: date | None = None
    interpreter_no_show: bool = False
    session_held: bool = False

    @property
    def failed(self) -> bool:
        """The interpreter did not come, or none was ever assigned (and no session held)."""
        return self.interpreter_no_show or (self.assigned_on is None and not self.session_held)


@dataclass
class Consent:
    given_on: date
    valid_until: date | None
    ended_on: date | None = None  # withdrawn or expired

    def valid_on(self, day: date) -> bool:
        return (
            self.given_on <= day
            and (self.valid_until is None or day <= self.valid_until)
            and (self.ended_on is None or day < self.ended_on)
        )


@dataclass
class HandOver:
    reason: HandOverReason
    from_agency: Agency
    to_agency: Agency
    requested_on: date | None = None
    # Judged when the request is folded: the package's free texts never reach a steering row.
    package_complete: bool | None = None
    accepted_on: date | None = None


@dataclass
class CaseRecord:
    """What steering needs to know of one case, as dated facts; no personal field."""

    case_id: UUID
    allocated_on: date | None = None
    sites: list[tuple[date, Site]] = field(default_factory=list)
    agencies: list[tuple[date, Agency]] = field(default_factory=list)
    responsible: Agency = Agency.AA_MG  # asylum seekers start in SGB III
    first_contact_on: date | None = None
    contacts: list[tuple[date, Agency]] = field(default_factory=list)
    closed: tuple[date, ClosingReason] | None = None
    profiles: list[tuple[date, int]] = field(default_factory=list)
    consents: dict[UUID, Consent] = field(default_factory=dict)
    interpreters: dict[UUID, InterpreterBooking] = field(default_factory=dict)
    handovers: dict[UUID, HandOver] = field(default_factory=dict)
    entitlements: dict[UUID, date] = field(default_factory=dict)
    enrolments: dict[UUID, Enrolment] = field(default_factory=dict)
    dtz_results: list[tuple[date, CefrLevel | None]] = field(default_factory=list)
    applications: dict[UUID, date] = field(default_factory=dict)
    decisions: list[tuple[date, UUID, DecisionOutcome]] = field(default_factory=list)
    adaptations_started: list[date] = field(default_factory=list)
    adaptations_completed: list[date] = field(default_factory=list)
    permissions: list[tuple[date, bool]] = field(default_factory=list)
    placements: dict[UUID, Placement] = field(default_factory=dict)
    follow_ups: list[tuple[date, UUID, bool]] = field(default_factory=list)

    def is_open_on(self, day: date) -> bool:
        return (
            self.allocated_on is not None
            and self.allocated_on <= day
            and (self.closed is None or day < self.closed[0])
        )

    def event_days(self) -> list[date]:
        """The business days of what happened in the case, the days the figures count by
        (not a consent's limit, not a profile's recording day)."""
        days = [self.allocated_on, self.first_contact_on, self.closed and self.closed[0]]
        days += [day for day, _ in self.contacts]
        days += [b.slot_day for b in self.interpreters.values()]
        days += [h.requested_on for h in self.handovers.values()]
        days += [h.accepted_on for h in self.handovers.values()]
        days += self.entitlements.values()
        days += [e.started_on for e in self.enrolments.values()]
        days += [e.ended_on for e in self.enrolments.values()]
        days += [day for day, _ in self.dtz_results]
        days += self.applications.values()
        days += [day for day, _, _ in self.decisions]
        days += [*self.adaptations_started, *self.adaptations_completed]
        days += [day for day, _ in self.permissions]
        days += [p.started_on for p in self.placements.values()]
        days += [p.ended_on for p in self.placements.values()]
        days += [day for day, _, _ in self.follow_ups]
        return [day for day in days if day is not None]


def months_with_data(records: Iterable[CaseRecord]) -> list[str]:
    """The months ("YYYY-MM") in which something happened in a registered case, oldest first."""
    return sorted(
        {
            f"{day.year:04d}-{day.month:02d}"
            for record in records
            if record.allocated_on is not None
            for day in record.event_days()
        }
    )


def turns_25_on(date_of_birth: date, allocated_on: date) -> date:
    """The day from which the person counts as 25 or older, for an age-band mapping.

    Someone 25 or older when allocated gets ``date.min`` (older on every day): the day is
    kept only where the band can change while the case runs, and otherwise says nothing of
    the person's age.
    """
    # § 187 (2) S. 2 BGB: the day of birth counts, so one born on 29 February is 25 from
    # 1 March in a common year.
    birthday_25 = first_day_after(date_of_birth, 12 * ADULT_BAND_YEARS, Counting.FROM_START_OF_DAY)
    return birthday_25 if birthday_25 > allocated_on else date.min


def _recorded_on(envelope: Envelope[Any]) -> date:
    return envelope.occurred_at.astimezone(BERLIN).date()


def _apply_intake(record: CaseRecord, envelope: Envelope[Any]) -> None:  # noqa: PLR0912  # one arm per event reads best
    data = envelope.data
    match data:
        case PersonRegistered():
            record.allocated_on = data.allocated_on
            record.sites.append((data.allocated_on, data.site))
            record.agencies.append((data.allocated_on, record.responsible))
        case FirstContactMade():
            record.first_contact_on = data.contacted_on
            record.contacts.append((data.contacted_on, envelope.agency))
        case ContactRecorded():
            record.contacts.append((data.contacted_on, data.by_agency))
        case WohnsitzauflageImposed():
            # A Jobcenter client assigned to another Jobcenter's town moves with the move
            # hand-over; everyone else (the Agentur serves all three sites, JC-RKN both of
            # its sites) belongs to the new site from the day the assignment takes effect.
            if (
                record.responsible not in JOBCENTERS
                or _jobcenter_of(data.site) is record.responsible
            ):
                record.sites.append((data.effective_from, data.site))
        case HandOverRequested():
            record.handovers[data.handover_id] = HandOver(
                data.reason,
                data.from_agency,
                data.to_agency,
                data.requested_on,
                package_complete(data.package),
            )
        case HandOverAccepted():
            handover = record.handovers.setdefault(
                data.handover_id, HandOver(data.reason, data.from_agency, data.to_agency)
            )
            handover.accepted_on = data.accepted_on
            if data.reason in TRANSFERS:
                record.responsible = data.to_agency
                record.agencies.append((data.accepted_on, data.to_agency))
                if data.new_site is not None:
                    record.sites.append((data.accepted_on, data.new_site))
        case ProfileRecorded():
            record.profiles.append((_recorded_on(envelope), data.completeness_percent))
        case ConsentGiven():
            record.consents[data.consent_id] = Consent(data.given_on, data.valid_until)
        case ConsentWithdrawn() | ConsentExpired():
            ended = data.withdrawn_on if isinstance(data, ConsentWithdrawn) else data.expired_on
            if (consent := record.consents.get(data.consent_id)) is not None:
                consent.ended_on = min(ended, consent.ended_on or ended)
        case InterpreterRequested():
            slot_day = data.slot_start.astimezone(BERLIN).date()
            record.interpreters[data.request_id] = InterpreterBooking(slot_day)
        case InterpreterAssigned():
            if (booking := record.interpreters.get(data.request_id)) is not None:
                booking.assigned_on = _recorded_on(envelope)
        case InterpreterSessionHeld():
            if (booking := record.interpreters.get(data.request_id)) is not None:
                booking.session_held = True
        case InterpreterNoShow():
            booking = record.interpreters.get(data.request_id)
            if booking is not None and data.party is NoShowParty.INTERPRETER:
                booking.interpreter_no_show = True
        case CaseClosed():
            record.closed = (data.closed_on, data.reason)
        case _:
            pass  # identifiers, residence, referrals, rejections: no steering figure uses them


def _jobcenter_of(site: Site) -> Agency:
    return Agency.JC_MG if site is Site.MG else Agency.JC_RKN


def _apply_language(record: CaseRecord, data: object) -> None:
    match data:
        case EntitlementIssued():
            record.entitlements[data.entitlement_id] = data.issued_on
        case EnrolmentStarted():
            record.enrolments[data.enrolment_id] = Enrolment(data.entitlement_id, data.started_on)
        case EnrolmentEnded():
            if (enrolment := record.enrolments.get(data.enrolment_id)) is not None:
                enrolment.ended_on, enrolment.outcome = data.ended_on, data.outcome
        case ExamTaken() if data.exam is Exam.DTZ:
            record.dtz_results.append((data.taken_on, data.result))
        case _:
            pass  # placement tests, attendance, issuer changes


def _apply_recognition(record: CaseRecord, data: object) -> None:
    match data:
        case ApplicationSubmitted():
            record.applications[data.procedure_id] = data.submitted_on
        case DecisionIssued():
            record.decisions.append((data.decided_on, data.procedure_id, data.outcome))
        case AdaptationStarted():
            record.adaptations_started.append(data.started_on)
        case AdaptationCompleted():
            record.adaptations_completed.append(data.completed_on)
        case _:
            pass  # counselling, reference occupation, authority, documents, ZAB, titles


def _apply_placement(record: CaseRecord, data: object) -> None:
    match data:
        case PermissionDecided():
            record.permissions.append((data.decided_on, data.granted))
        case PlacementStarted():
            record.placements[data.placement_id] = Placement(data.kind, data.started_on)
        case PlacementEnded():
            if (placement := record.placements.get(data.placement_id)) is not None:
                placement.ended_on = data.ended_on
        case FollowUpContactRecorded():
            record.follow_ups.append((data.contacted_on, data.placement_id, data.still_in_post))
        case _:
            pass  # residence facts, requests, BA consent, measures, openings, proposals


def fold(envelopes: Iterable[Envelope[Any]]) -> dict[UUID, CaseRecord]:
    """One record per case. Topics may interleave in any way: each case's events of one topic
    are put in stream order, and no topic's fold reads another topic's facts (they meet only
    in the figures). Duplicates (at-least-once delivery) are dropped by event id."""
    streams: dict[tuple[UUID, str], dict[UUID, Envelope[Any]]] = defaultdict(dict)
    for envelope in envelopes:
        streams[envelope.case_id, source_of(envelope)].setdefault(envelope.event_id, envelope)
    records: dict[UUID, CaseRecord] = {}
    for (case_id, _topic), events in sorted(streams.items(), key=lambda item: str(item[0])):
        record = records.setdefault(case_id, CaseRecord(case_id))
        for envelope in sorted(events.values(), key=lambda e: e.stream_version):
            apply(record, envelope)
    return records


def source_of(envelope: Envelope[Any]) -> str:
    """The service (and topic) an event comes from: the prefix of its type."""
    return envelope.type.split(".", 1)[0]


def apply(record: CaseRecord, envelope: Envelope[Any]) -> None:
    """Fold one event into its case's record. Within one source, events must come in stream
    order (a projection gets them so: a case's events of one topic share a partition)."""
    match source_of(envelope):
        case "intake":
            _apply_intake(record, envelope)
        case "language":
            _apply_language(record, envelope.data)
        case "recognition":
            _apply_recognition(record, envelope.data)
        case "placement":
            _apply_placement(record, envelope.data)


# --- cells -----------------------------------------------------------------------------------


T = TypeVar("T")


def _as_of(timeline: list[tuple[date, T]], day: date) -> T:
    """The value in force on ``day``: the last change on or before it (else the first)."""
    ordered = sorted(timeline, key=lambda change: change[0])  # stable: same-day order kept
    current = ordered[0][1]
    for effective, value in ordered:
        if effective > day:
            break
        current = value
    return current


def _age_band_function(source: AgeBandSource) -> Callable[[UUID, date], AgeBand]:
    if callable(source):
        return source
    ages = source

    def band(case_id: UUID, day: date) -> AgeBand:
        facts = ages.get(case_id)
        return AgeBand.UNKNOWN if facts is None else facts.band(day)

    return band


def _cell(record: CaseRecord, day: date, age_band: Callable[[UUID, date], AgeBand]) -> Cell:
    agency = _as_of(record.agencies, day)
    rechtskreis = Rechtskreis.SGB_II if agency in JOBCENTERS else Rechtskreis.SGB_III
    return Cell(_as_of(record.sites, day), rechtskreis, age_band(record.case_id, day))


# --- figures ---------------------------------------------------------------------------------

Observation = tuple[date, float]  # the day that picks the person's cell, and the number
Measure = Callable[[CaseRecord, Month], Observation | None]


class Aggregate(StrEnum):
    COUNT = "count"  # number of persons
    SUM = "sum"  # sum of the persons' numbers (e.g. requests)
    SHARE = "share"  # percent of persons whose number is 1
    MEAN = "mean"
    MEDIAN = "median"  # nearest rank: the ceil(0.5 n)-th smallest
    P90 = "p90"  # nearest rank: the ceil(0.9 n)-th smallest


@dataclass(frozen=True)
class Figure:
    key: str
    revision: int
    aggregate: Aggregate
    description: str
    measure: Measure

    @property
    def version(self) -> str:
        return f"{self.key}@{self.revision}"


def nearest_rank(values: list[float], percentile: float) -> float:
    """The nearest-rank percentile: the ceil(p/100 * n)-th smallest value (an observed one)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(percentile / 100 * len(ordered)))
    return ordered[rank - 1]


def aggregate_of(kind: Aggregate, values: list[float]) -> float:
    match kind:
        case Aggregate.COUNT:
            return float(len(values))
        case Aggregate.SUM:
            return float(sum(values))
        case Aggregate.SHARE:
            return round(100 * sum(values) / len(values), 1)
        case Aggregate.MEAN:
            return round(sum(values) / len(values), 1)
        case Aggregate.MEDIAN:
            return nearest_rank(values, 50)
        case Aggregate.P90:
            return nearest_rank(values, 90)


def _first_in(days: Iterable[date], month: Month) -> date | None:
    return min((day for day in days if day in month), default=None)


def _counted_in(days: Callable[[CaseRecord], Iterable[date]]) -> Measure:
    """A person counts once when any of their ``days`` falls in the month."""

    def measure(record: CaseRecord, month: Month) -> Observation | None:
        day = _first_in(days(record), month)
        return None if day is None else (day, 1.0)

    return measure


def _open_at_end(value: Callable[[CaseRecord, Month], float | None]) -> Measure:
    """Observed on the month's last day for every case open then."""

    def measure(record: CaseRecord, month: Month) -> Observation | None:
        if not record.is_open_on(month.last):
            return None
        number = value(record, month)
        return None if number is None else (month.last, number)

    return measure


def _caseload(_record: CaseRecord, _month: Month) -> float:
    return 1.0


def _allocation(record: CaseRecord) -> list[date]:
    return [] if record.allocated_on is None else [record.allocated_on]


def _transfers_accepted(record: CaseRecord) -> list[date]:
    return [
        h.accepted_on
        for h in record.handovers.values()
        if h.accepted_on is not None and h.reason in TRANSFERS
    ]


def _transfer_out(record: CaseRecord, month: Month) -> Observation | None:
    # The day before acceptance: the person leaves the cell they were in until then.
    day = _first_in(_transfers_accepted(record), month)
    return None if day is None else (day - timedelta(days=1), 1.0)


def _closed_for(reason: ClosingReason) -> Measure:
    def days(record: CaseRecord) -> list[date]:
        return [record.closed[0]] if record.closed and record.closed[1] is reason else []

    return _counted_in(days)


def _days_to_first_contact(record: CaseRecord, month: Month) -> Observation | None:
    first, allocated = record.first_contact_on, record.allocated_on
    if first is None or allocated is None or first not in month:
        return None
    return first, float((first - allocated).days)


def _first_contact_within_target(record: CaseRecord, month: Month) -> Observation | None:
    observed = _days_to_first_contact(record, month)
    if observed is None:
        return None
    return observed[0], float(observed[1] <= FIRST_CONTACT_TARGET_DAYS)


def _first_contact_outstanding(record: CaseRecord, month: Month) -> float | None:
    reached = record.first_contact_on is not None and record.first_contact_on <= month.last
    assert record.allocated_on is not None  # open cases are registered
    waited = (month.last - record.allocated_on).days
    return 1.0 if not reached and waited > FIRST_CONTACT_TARGET_DAYS else None


def _contact_gap(record: CaseRecord, month: Month) -> float | None:
    assert record.allocated_on is not None  # open cases are registered
    known = [day for day, _ in record.contacts if day <= month.last]
    last = max(known, default=record.allocated_on)
    return 1.0 if (month.last - last).days > CONTACT_GAP_DAYS else None


def _profile_completeness(record: CaseRecord, month: Month) -> float:
    # The latest profile recorded by the month's end; no profile yet is 0 % complete.
    known = [(day, percent) for day, percent in record.profiles if day <= month.last]
    return float(_as_of(known, month.last)) if known else 0.0


def _profile_complete(record: CaseRecord, month: Month) -> float:
    return float(_profile_completeness(record, month) == 100)


def _entitlement_to_start(record: CaseRecord, month: Month) -> Observation | None:
    starts = sorted(
        (e.started_on, (e.started_on - record.entitlements[e.entitlement_id]).days)
        for e in record.enrolments.values()
        if e.started_on in month and e.entitlement_id in record.entitlements
    )
    return None if not starts else (starts[0][0], float(starts[0][1]))


def _in_course(record: CaseRecord, month: Month) -> Observation | None:
    running = any(
        e.started_on <= month.last and (e.ended_on is None or e.ended_on > month.last)
        for e in record.enrolments.values()
    )
    return (month.last, 1.0) if running else None


def _enrolments_ended(outcome: EnrolmentOutcome) -> Measure:
    def days(record: CaseRecord) -> list[date]:
        return [
            e.ended_on
            for e in record.enrolments.values()
            if e.ended_on is not None and e.outcome is outcome
        ]

    return _counted_in(days)


def _b1_rate(record: CaseRecord, month: Month) -> Observation | None:
    taken = [(day, result) for day, result in record.dtz_results if day in month]
    if not taken:
        return None
    reached = any(result is not None and result.at_least(CefrLevel.B1) for _, result in taken)
    return min(day for day, _ in taken), float(reached)


def _days_to_decision(record: CaseRecord, month: Month) -> Observation | None:
    decided = sorted(
        (day, str(procedure), (day - record.applications[procedure]).days)
        for day, procedure, _ in record.decisions
        if day in month and procedure in record.applications
    )
    return None if not decided else (decided[0][0], float(decided[0][2]))


def _decided_with(outcome: DecisionOutcome) -> Measure:
    return _counted_in(lambda r: [day for day, _, got in r.decisions if got is outcome])


def _permission(granted: bool) -> Measure:
    return _counted_in(lambda r: [day for day, was in r.permissions if was is granted])


def package_complete(package: HandOverPackage) -> bool:
    """Every item of DOMAIN.md step 7 a transferred case always has: BAMF file number,
    residence status, asylum outcome, a complete CV, language level, a valid consent.
    Courses, recognition, measures, employer contacts and interpreter language exist only
    where applicable, so their absence cannot be judged."""
    return (
        IdentifierKind.BAMF_AKTENZEICHEN in package.identifiers
        and package.residence_status is not None
        and package.asylum_outcome is not None
        and package.profile_completeness_percent == 100
        and package.language_level is not None
        and bool(package.valid_consents)
    )


def _handover_package(record: CaseRecord, month: Month) -> Observation | None:
    requested = sorted(
        (h.requested_on, h.package_complete)
        for h in record.handovers.values()
        if h.reason in TRANSFERS and h.package_complete is not None and h.requested_on in month
    )
    if not requested or requested[0][0] is None:
        return None
    return requested[0][0], float(requested[0][1])


def _aa_to_jc_contact_days(record: CaseRecord, month: Month) -> Observation | None:
    for handover in record.handovers.values():
        since = handover.requested_on or handover.accepted_on
        if handover.reason is not HandOverReason.RECHTSKREISWECHSEL or since is None:
            continue
        jc = [d for d, by in record.contacts if by is handover.to_agency and d >= since]
        if not jc or (first_jc := min(jc)) not in month:
            continue
        aa = [d for d, by in record.contacts if by is handover.from_agency and d <= first_jc]
        if aa:
            return first_jc, float((first_jc - max(aa)).days)
    return None


def _placement_started(kind: PlacementKind) -> Measure:
    return _counted_in(lambda r: [p.started_on for p in r.placements.values() if p.kind is kind])


def _still_in_post(months: int) -> Measure:
    """Persons whose staying in post ``months`` after the start was first confirmed by a
    follow-up contact in the month (still in post, on or after the mark, not ended before)."""

    def days(record: CaseRecord) -> list[date]:
        confirmed = []
        for placement_id, placement in record.placements.items():
            # A start is the beginning of its day (§ 187 (2) BGB): the first day on which
            # ``months`` months in post have run out.
            mark = first_day_after(placement.started_on, months, Counting.FROM_START_OF_DAY)
            if placement.ended_on is not None and placement.ended_on < mark:
                continue
            contacts = [
                day
                for day, about, in_post in record.follow_ups
                if about == placement_id and in_post and day >= mark
            ]
            if contacts:
                confirmed.append(min(contacts))
        return confirmed

    return _counted_in(days)


def _interpreter_requests(record: CaseRecord, month: Month) -> Observation | None:
    slots = [b.slot_day for b in record.interpreters.values() if b.slot_day in month]
    return None if not slots else (min(slots), float(len(slots)))


def _interpreter_failures(record: CaseRecord, month: Month) -> Observation | None:
    failed = [b.slot_day for b in record.interpreters.values() if b.slot_day in month and b.failed]
    return None if not failed else (min(failed), float(len(failed)))


def _valid_consent(record: CaseRecord, month: Month) -> float:
    return float(any(c.valid_on(month.last) for c in record.consents.values()))


_CLOSING_KEYS: Final = {
    ClosingReason.WORK: "work",
    ClosingReason.APPRENTICESHIP: "apprenticeship",
    ClosingReason.MOVED_AWAY: "moved_away",
    ClosingReason.LEFT_GERMANY: "left_germany",
    ClosingReason.CONTACT_LOST: "contact_lost",
    ClosingReason.OTHER: "other",
}
_OUTCOME_KEYS: Final = {
    DecisionOutcome.VOLLE_GLEICHWERTIGKEIT: "full",
    DecisionOutcome.TEILWEISE_GLEICHWERTIGKEIT: "partial",
    DecisionOutcome.KEINE_GLEICHWERTIGKEIT: "none",
    DecisionOutcome.ABGELEHNT_MANGELNDE_MITWIRKUNG: "refused_no_cooperation",
}
_PLACEMENT_KEYS: Final = {
    PlacementKind.BESCHAEFTIGUNG: "work",
    PlacementKind.AUSBILDUNG: "apprenticeship",
    PlacementKind.EINSTIEGSQUALIFIZIERUNG: "eq",
    PlacementKind.PRAKTIKUM: "internship",
    PlacementKind.MINIJOB: "minijob",
}

C, S = Aggregate.COUNT, Aggregate.SHARE  # short names keep the registry readable
FIGURES: Final[tuple[Figure, ...]] = (
    Figure(
        "caseload",
        1,
        C,
        "persons with an open case on the month's last day "
        "(allocated on or before it, not closed on or before it)",
        _open_at_end(_caseload),
    ),
    Figure(
        "intake.allocation",
        1,
        C,
        "persons allocated to a town in the month",
        _counted_in(_allocation),
    ),
    Figure(
        "intake.handover",
        1,
        C,
        "persons who entered the cell by an accepted "
        "Rechtskreiswechsel or move hand-over in the month (cell on the acceptance day)",
        _counted_in(_transfers_accepted),
    ),
    Figure(
        "exits.handover",
        1,
        C,
        "persons who left the cell by an accepted "
        "Rechtskreiswechsel or move hand-over in the month (cell on the day before)",
        _transfer_out,
    ),
    *(
        Figure(
            f"exits.closed.{key}",
            1,
            C,
            f"persons whose case was closed in the month for reason '{reason.value}'",
            _closed_for(reason),
        )
        for reason, key in _CLOSING_KEYS.items()
    ),
    Figure(
        "first_contact.days_median",
        1,
        Aggregate.MEDIAN,
        "nearest-rank median of days from "
        "allocation to first contact, persons first contacted in the month",
        _days_to_first_contact,
    ),
    Figure(
        "first_contact.days_p90",
        1,
        Aggregate.P90,
        "nearest-rank P90 of days from allocation to "
        "first contact, persons first contacted in the month",
        _days_to_first_contact,
    ),
    Figure(
        "first_contact.within_14_days_share",
        1,
        S,
        "percent of persons first contacted "
        "in the month whose first contact came at most 14 days after allocation",
        _first_contact_within_target,
    ),
    Figure(
        "first_contact.outstanding_over_14_days",
        1,
        C,
        "persons with an open case at the "
        "month's end, allocated more than 14 days before it, not yet contacted",
        _open_at_end(_first_contact_outstanding),
    ),
    Figure(
        "contact_gap.over_90_days",
        1,
        C,
        "persons with an open case at the month's end "
        "whose last contact (or allocation, if none) lies more than 90 days before it",
        _open_at_end(_contact_gap),
    ),
    Figure(
        "profile.completeness_mean",
        1,
        Aggregate.MEAN,
        "mean profile completeness in percent "
        "(latest profile; none = 0) of persons with an open case at the month's end",
        _open_at_end(_profile_completeness),
    ),
    Figure(
        "profile.complete_share",
        1,
        S,
        "percent of persons with an open case at the "
        "month's end whose latest profile is 100 % complete",
        _open_at_end(_profile_complete),
    ),
    Figure(
        "language.entitlements_issued",
        1,
        C,
        "persons issued a course entitlement or obligation in the month",
        _counted_in(lambda r: r.entitlements.values()),
    ),
    Figure(
        "language.entitlement_to_start_days_median",
        1,
        Aggregate.MEDIAN,
        "nearest-rank median "
        "of days from entitlement to course start, persons' first start in the month",
        _entitlement_to_start,
    ),
    Figure(
        "language.in_course",
        1,
        C,
        "persons with a course enrolment running on the month's last day",
        _in_course,
    ),
    Figure(
        "language.completed",
        1,
        C,
        "persons who completed a course in the month",
        _enrolments_ended(EnrolmentOutcome.COMPLETED),
    ),
    Figure(
        "language.dropped",
        1,
        C,
        "persons who dropped out of a course in the month",
        _enrolments_ended(EnrolmentOutcome.DROPPED),
    ),
    Figure(
        "language.b1_rate",
        1,
        S,
        "percent of persons who sat the DTZ in the month and "
        "reached B1 (or better) in one of their attempts",
        _b1_rate,
    ),
    Figure(
        "recognition.applications",
        1,
        C,
        "persons who submitted a recognition application in the month",
        _counted_in(lambda r: r.applications.values()),
    ),
    Figure(
        "recognition.days_to_decision_median",
        1,
        Aggregate.MEDIAN,
        "nearest-rank median of days "
        "from application to Bescheid, persons' first Bescheid in the month",
        _days_to_decision,
    ),
    *(
        Figure(
            f"recognition.decision.{key}",
            1,
            C,
            f"persons with a Bescheid '{outcome.value}' in the month",
            _decided_with(outcome),
        )
        for outcome, key in _OUTCOME_KEYS.items()
    ),
    Figure(
        "recognition.adaptation_started",
        1,
        C,
        "persons who started an adaptation qualification in the month",
        _counted_in(lambda r: r.adaptations_started),
    ),
    Figure(
        "recognition.adaptation_completed",
        1,
        C,
        "persons who completed an adaptation qualification in the month",
        _counted_in(lambda r: r.adaptations_completed),
    ),
    Figure(
        "permission.granted",
        1,
        C,
        "persons granted a work permission by the Ausländerbehörde in the month",
        _permission(granted=True),
    ),
    Figure(
        "permission.refused",
        1,
        C,
        "persons refused a work permission by the Ausländerbehörde in the month",
        _permission(granted=False),
    ),
    Figure(
        "handover.complete_package_share",
        1,
        S,
        "percent of persons whose first "
        "Rechtskreiswechsel or move hand-over requested in the month carried a complete "
        "package (see package_complete)",
        _handover_package,
    ),
    Figure(
        "handover.aa_to_jc_contact_days_median",
        1,
        Aggregate.MEDIAN,
        "nearest-rank median of days "
        "from the last Agentur contact to the first Jobcenter contact after a "
        "Rechtskreiswechsel request, persons whose first Jobcenter contact was in the month",
        _aa_to_jc_contact_days,
    ),
    *(
        Figure(
            f"placement.started.{key}",
            1,
            C,
            f"persons who started a placement '{kind.value}' in the month",
            _placement_started(kind),
        )
        for kind, key in _PLACEMENT_KEYS.items()
    ),
    *(
        Figure(
            f"placement.in_post_{months}_months",
            2,  # 2: the months counted by §§ 187 (2), 188 BGB (a start on 31 Aug: from 1 Mar)
            C,
            f"persons confirmed still in post "
            f"{months} months after a start by a follow-up contact in the month "
            "(first such confirmation per placement; the months counted by §§ 187 (2), "
            "188 BGB from the start day)",
            _still_in_post(months),
        )
        for months in IN_POST_MONTHS
    ),
    Figure(
        "interpreter.requests",
        1,
        Aggregate.SUM,
        "interpreter requests for appointments in the month (persons = persons with a request)",
        _interpreter_requests,
    ),
    Figure(
        "interpreter.failures",
        2,  # 1 judged by the day the assignment was recorded: a session held could fail
        Aggregate.SUM,
        "interpreter requests for appointments in the "
        "month whose interpreter did not come (no-show) or that never had an interpreter "
        "assigned and no session held (persons = persons with a failure)",
        _interpreter_failures,
    ),
    Figure(
        "consent.valid_share",
        1,
        S,
        "percent of persons with an open case at the "
        "month's end holding at least one consent valid on that day",
        _open_at_end(_valid_consent),
    ),
)


# --- rows and CSV ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FigureRow:
    """One figure in one cell; a suppressed cell shows neither value nor person count."""

    figure: str
    version: str
    month: str
    site: Site
    rechtskreis: Rechtskreis
    age_band: AgeBand
    value: float | None
    persons: int | None
    suppressed: bool


def _grid() -> list[Cell]:
    """Every known cell, so each month's export has the same shape."""
    bands = (AgeBand.UNDER_25, AgeBand.FROM_25)
    return [Cell(s, r, b) for s in Site for r in Rechtskreis for b in bands]


def cell_row(
    figure: Figure, month: Month, cell: Cell, values: list[float], *, withheld: bool = False
) -> FigureRow:
    """The cell's row: suppressed below ``MIN_CELL_PERSONS`` persons, or when ``withheld``
    (secondary suppression, ``steering_totals``)."""
    shown = len(values) >= MIN_CELL_PERSONS and not withheld
    return FigureRow(
        figure=figure.key,
        version=figure.version,
        month=month.label,
        site=cell.site,
        rechtskreis=cell.rechtskreis,
        age_band=cell.age_band,
        value=aggregate_of(figure.aggregate, values) if shown else None,
        persons=len(values) if shown else None,
        suppressed=not shown,
    )


def compute(
    envelopes: Iterable[Envelope[Any]],
    month: str,
    age_band: AgeBandSource,
    figures: Iterable[Figure] = FIGURES,
) -> list[FigureRow]:
    """Every figure for ``month`` ("YYYY-MM") in every cell, in registry then cell order."""
    return figures_of(fold(envelopes).values(), month, age_band, figures)


def figures_of(
    records: Iterable[CaseRecord],
    month: str,
    age_band: AgeBandSource,
    figures: Iterable[Figure] = FIGURES,
) -> list[FigureRow]:
    """``compute`` on records already folded (a projection keeps them per case): the cells
    alone, each suppressed below ``MIN_CELL_PERSONS``. Published beside totals, the cells need
    secondary suppression as well: ``steering_totals.publish``."""
    period = Month.parse(month)
    return [
        cell_row(figure, period, cell, cells[cell])
        for figure, cells in observations_of(records, period, age_band, figures)
        for cell in sorted(cells, key=cell_order)
    ]


def observations_of(
    records: Iterable[CaseRecord],
    month: Month,
    age_band: AgeBandSource,
    figures: Iterable[Figure] = FIGURES,
) -> list[tuple[Figure, dict[Cell, list[float]]]]:
    """Each figure's persons' numbers per cell: every cell of the grid, and a cell of the band
    "unbekannt" where someone falls in it. Cases without a registration are left out: there
    is no site to count them at."""
    band = _age_band_function(age_band)
    registered = sorted((r for r in records if r.allocated_on is not None), key=lambda r: r.case_id)
    result = []
    for figure in figures:
        cells: dict[Cell, list[float]] = {cell: [] for cell in _grid()}
        for record in registered:
            observed = figure.measure(record, month)
            if observed is not None:
                day, number = observed
                cells.setdefault(_cell(record, day, band), []).append(number)
        result.append((figure, cells))
    return result


_SITE_ORDER: Final = {site: i for i, site in enumerate(Site)}
_RK_ORDER: Final = {rk: i for i, rk in enumerate(Rechtskreis)}
_BAND_ORDER: Final = {band: i for i, band in enumerate(AgeBand)}


def cell_order(cell: Cell) -> tuple[int, int, int]:
    return _SITE_ORDER[cell.site], _RK_ORDER[cell.rechtskreis], _BAND_ORDER[cell.age_band]
