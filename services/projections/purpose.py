"""Purpose limitation: which view may hold which event of a case, and on what ground.

The one rule module behind every per-agency view (DOMAIN.md, "What each agency may see").
Each agency stays the controller of what it collects; showing its data in another
agency's view is a transfer that needs a legal basis or a valid consent naming the
recipient, the purpose and the data category. A projection asks ``disclosure`` for every
event it would materialise and writes the event (restricted to ``Grant.fields``) only when
it gets a ``Grant``; the grant says on what ground, so that the disclosure can be logged.

Pure: no I/O, no clock. Both days are arguments, German calendar days (Europe/Berlin): ``on``
is the day the view is (re)built, ``recorded_on`` the day the event was recorded (the German
day of its ``occurred_at``). A view also passes the instant of recording (``recorded_at``):
it orders an event and a hand-over recorded on the same day. A consent's ``valid_until`` is
its last day: it holds until midnight Europe/Berlin at that day's end.
The answer depends on the case's facts as folded *up to ``on``*, not up to the event: a
case handed over later becomes visible to the receiving Jobcenter with its history, and a
withdrawn consent removes the partner's rows, so projections re-evaluate each cycle.

Not modelled (no such data exists in the contracts yet, or it is decided elsewhere):
- Jobcenter benefit data, Sozialamt files and IQ counselling notes: no topic carries them,
  so no view can receive them from these rules.
- Employers have no view: they are network partners with a feed of their own, one per
  organisation (``services.projections.forwarding``).
- A consent's ``named_person`` and a course provider's own name: a consent naming
  "course providers" opens the view for every course provider's rows.
- The Ausländerbehörde and Sozialamt hold a case only while its current site is in their
  scope; the office the person moved away from keeps no history here.
- Aggregates for steering are computed elsewhere; this module only forbids person rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Final, TypeAlias
from uuid import UUID

from contracts import intake, language, placement, recognition
from contracts.common import Site
from contracts.envelope import Agency
from contracts.intake import (
    CategoryErased,
    ConsentExpired,
    ConsentGiven,
    ConsentWithdrawn,
    DataCategory,
    HandOverAccepted,
    HandOverReason,
    IdentifierKind,
    IdentifierLinked,
    IntakeEvent,
    Partner,
    PersonRegistered,
    Purpose,
    ReferredToPartner,
    WohnsitzauflageImposed,
)
from contracts.language import (
    AttendanceRecorded,
    EnrolmentEnded,
    EnrolmentStarted,
    EntitlementIssued,
    EntitlementKind,
    ExamTaken,
    Issuer,
    LanguageEvent,
)
from contracts.placement import PlacementEvent
from contracts.recognition import RecognitionEvent

AnyEvent: TypeAlias = IntakeEvent | LanguageEvent | RecognitionEvent | PlacementEvent

STEERING_MIN_CELL: Final = 5
"""Smallest count steering may see in a cell: cells of fewer than 5 persons are suppressed
(DOMAIN.md: "small cells (< 5) suppressed"), so no figure points at a person."""


# --- views ----------------------------------------------------------------------------------


class ViewKind(StrEnum):
    """What kind of body a view serves; the rules differ per kind, not per office."""

    AGENTUR = "agentur"
    JOBCENTER = "jobcenter"
    AUSLAENDERBEHOERDE = "auslaenderbehoerde"
    SOZIALAMT = "sozialamt"
    PARTNER = "partner"
    STEERING = "steering"


class ViewId(StrEnum):
    """One read model per controller (or partner), each in its own database."""

    AA_MG = "aa_mg"  # Agentur für Arbeit Mönchengladbach, IP counselling
    JC_MG = "jc_mg"  # Jobcenter Mönchengladbach
    JC_RKN = "jc_rkn"  # Jobcenter Rhein-Kreis Neuss
    ABH_MG = "abh_mg"  # Ausländerbehörde of the Stadt Mönchengladbach
    ABH_RKN = "abh_rkn"  # Ausländerbehörde of the Rhein-Kreis Neuss
    SOZIALAMT_MG = "sozialamt_mg"  # Sozialamt (AsylbLG) of the Stadt Mönchengladbach
    SOZIALAMT_RKN = "sozialamt_rkn"  # Sozialamt (AsylbLG) of the Rhein-Kreis Neuss
    PARTNER_IQ = "partner_iq"  # IQ recognition counselling
    PARTNER_JBA = "partner_jba"  # Jugendberufsagentur
    PARTNER_COURSE_PROVIDER = "partner_course_provider"  # Kursträger
    STEERING = "steering"  # aggregates only

    @property
    def kind(self) -> ViewKind:
        return _SPECS[self].kind

    @property
    def controller(self) -> Agency | Partner | None:
        """The controller (or partner) the view serves: the "to" of a disclosure."""
        return _SPECS[self].controller

    @property
    def scope(self) -> frozenset[Site]:
        """The sites whose cases the body is locally competent for."""
        return _SPECS[self].scope


@dataclass(frozen=True)
class _ViewSpec:
    kind: ViewKind
    controller: Agency | Partner | None
    scope: frozenset[Site]


_ALL_SITES: Final = frozenset(Site)
_MG: Final = frozenset({Site.MG})
_RKN: Final = frozenset({Site.NE, Site.GV})

_SPECS: Final[dict[ViewId, _ViewSpec]] = {
    # The Agentur's district covers all three sites.
    ViewId.AA_MG: _ViewSpec(ViewKind.AGENTUR, Agency.AA_MG, _ALL_SITES),
    # A Jobcenter's scope says where its clients live; what it holds follows responsibility,
    # which moves only by an accepted hand-over (never by the site alone).
    ViewId.JC_MG: _ViewSpec(ViewKind.JOBCENTER, Agency.JC_MG, _MG),
    ViewId.JC_RKN: _ViewSpec(ViewKind.JOBCENTER, Agency.JC_RKN, _RKN),
    ViewId.ABH_MG: _ViewSpec(ViewKind.AUSLAENDERBEHOERDE, Agency.STADT_MG, _MG),
    ViewId.ABH_RKN: _ViewSpec(ViewKind.AUSLAENDERBEHOERDE, Agency.RKN, _RKN),
    ViewId.SOZIALAMT_MG: _ViewSpec(ViewKind.SOZIALAMT, Agency.STADT_MG, _MG),
    ViewId.SOZIALAMT_RKN: _ViewSpec(ViewKind.SOZIALAMT, Agency.RKN, _RKN),
    # Partners hold only what a consent names; the consent, not a site, decides.
    ViewId.PARTNER_IQ: _ViewSpec(ViewKind.PARTNER, Partner.IQ_COUNSELLING, _ALL_SITES),
    ViewId.PARTNER_JBA: _ViewSpec(ViewKind.PARTNER, Partner.JUGENDBERUFSAGENTUR, _ALL_SITES),
    ViewId.PARTNER_COURSE_PROVIDER: _ViewSpec(
        ViewKind.PARTNER, Partner.COURSE_PROVIDER, _ALL_SITES
    ),
    ViewId.STEERING: _ViewSpec(ViewKind.STEERING, None, _ALL_SITES),
}

# The purposes for which a consent naming the view's controller opens the view. A consent
# for a purpose the body does not pursue opens nothing (purpose limitation, Art. 5 (1) b
# GDPR). The Stadt and the Kreis are one controller each for two offices, so the purpose
# also tells which office a consent naming them opens: course obligations are the
# Ausländerbehörde's; no purpose of the contracts is the Sozialamt's (AsylbLG benefits).
CONSENT_PURPOSES: Final[dict[ViewId, frozenset[Purpose]]] = {
    ViewId.AA_MG: frozenset(Purpose),
    ViewId.JC_MG: frozenset(Purpose),
    ViewId.JC_RKN: frozenset(Purpose),
    ViewId.ABH_MG: frozenset({Purpose.LANGUAGE_COURSES}),
    ViewId.ABH_RKN: frozenset({Purpose.LANGUAGE_COURSES}),
    ViewId.SOZIALAMT_MG: frozenset(),
    ViewId.SOZIALAMT_RKN: frozenset(),
    ViewId.PARTNER_IQ: frozenset({Purpose.RECOGNITION, Purpose.COUNSELLING}),
    ViewId.PARTNER_JBA: frozenset({Purpose.PLACEMENT, Purpose.COUNSELLING}),
    ViewId.PARTNER_COURSE_PROVIDER: frozenset({Purpose.LANGUAGE_COURSES}),
    ViewId.STEERING: frozenset(),
}


# --- legal bases ----------------------------------------------------------------------------


class LegalBasis(StrEnum):
    """The grounds on which data reaches a view without the person's consent."""

    # The agency is (or was) the responsible one: the data is its own (Art. 6 (1) e GDPR
    # with § 67a ff. SGB X, § 35 SGB I for the Agentur and the Jobcenters).
    OWN_RESPONSIBILITY = "own_responsibility"
    # § 50 (1) SGB II: Agentur and Jobcenters pass each other the social data of a case
    # handed over between them, so far as their SGB II/III tasks need it.
    SGB_II_50 = "sgb_ii_50"
    # §§ 4a, 39, 86 AufenthG with § 32 BeschV: the Ausländerbehörde's own records and the
    # work-permission requests it decides; § 44a AufenthG: course participation under an
    # obligation it issued.
    AUFENTHG = "aufenthg"
    # § 69 (1) Nr. 1 SGB X: social data passed to the Sozialamt for its own task (ending
    # AsylbLG benefits when the Jobcenter takes over; reimbursement, §§ 102 ff. SGB X).
    SGB_X_69 = "sgb_x_69"
    # § 10a AsylbLG: the Sozialamt's local competence follows the residence assignment.
    ASYLBLG = "asylblg"
    # Steering sees aggregate figures only (cells below STEERING_MIN_CELL suppressed).
    STEERING_AGGREGATE = "steering_aggregate"


# --- data categories ------------------------------------------------------------------------

# The consent data category of every event type of the four topics. ``None`` marks the
# case's own administration (contacts, consents, referrals, hand-overs, closing): no
# category a consent could name, so only the agencies holding the case see it (and the
# Sozialamt the Rechtskreiswechsel date, see below).
CATEGORY_OF: Final[dict[str, DataCategory | None]] = {
    # intake
    "intake.person_registered": DataCategory.IDENTITY,
    "intake.identifier_linked": DataCategory.IDENTITY,
    "intake.first_contact_made": None,
    "intake.contact_recorded": None,
    "intake.residence_status_recorded": DataCategory.RESIDENCE,
    "intake.asylum_decided": DataCategory.RESIDENCE,
    "intake.wohnsitzauflage_imposed": DataCategory.RESIDENCE,
    "intake.sgb2_application_recorded": None,  # the trigger of the Rechtskreiswechsel
    "intake.consent_given": None,
    "intake.consent_withdrawn": None,
    "intake.consent_expired": None,
    "intake.profile_recorded": DataCategory.PROFILE,
    "intake.interpreter_requested": DataCategory.INTERPRETER,
    "intake.interpreter_assigned": DataCategory.INTERPRETER,
    "intake.interpreter_session_held": DataCategory.INTERPRETER,
    "intake.interpreter_no_show": DataCategory.INTERPRETER,
    "intake.referred_to_partner": None,
    "intake.hand_over_requested": None,
    "intake.hand_over_accepted": None,
    "intake.hand_over_rejected": None,
    "intake.case_closed": None,
    "intake.person_erased": None,  # the erasure itself names no personal data
    "intake.category_erased": None,  # retention: names a category, no personal data
    # language
    "language.entitlement_issued": DataCategory.LANGUAGE,
    "language.issuer_changed": DataCategory.LANGUAGE,
    "language.placement_test_taken": DataCategory.LANGUAGE,
    "language.enrolment_started": DataCategory.LANGUAGE,
    "language.attendance_recorded": DataCategory.LANGUAGE,
    "language.exam_taken": DataCategory.LANGUAGE,
    "language.enrolment_ended": DataCategory.LANGUAGE,
    # recognition
    "recognition.counselling_held": DataCategory.RECOGNITION,
    "recognition.reference_occupation_set": DataCategory.RECOGNITION,
    "recognition.competent_authority_assigned": DataCategory.RECOGNITION,
    "recognition.application_submitted": DataCategory.RECOGNITION,
    "recognition.documents_requested": DataCategory.RECOGNITION,
    "recognition.decision_issued": DataCategory.RECOGNITION,
    "recognition.zab_statement_issued": DataCategory.RECOGNITION,
    "recognition.protected_title_permitted": DataCategory.RECOGNITION,
    "recognition.adaptation_started": DataCategory.RECOGNITION,
    "recognition.adaptation_completed": DataCategory.RECOGNITION,
    # A competence test describes the person's skills, independent of any procedure.
    "recognition.competence_assessed": DataCategory.PROFILE,
    # placement
    "placement.residence_facts_noted": DataCategory.RESIDENCE,
    "placement.jugendberufsagentur_route_noted": DataCategory.PLACEMENT,
    "placement.work_permission_requested": DataCategory.PLACEMENT,
    "placement.ba_consent_decided": DataCategory.PLACEMENT,
    "placement.permission_decided": DataCategory.PLACEMENT,
    "placement.measure_started": DataCategory.PLACEMENT,
    "placement.measure_ended": DataCategory.PLACEMENT,
    "placement.opening_received": DataCategory.PLACEMENT,
    "placement.proposal_made": DataCategory.PLACEMENT,
    "placement.placement_started": DataCategory.PLACEMENT,
    "placement.placement_ended": DataCategory.PLACEMENT,
    "placement.follow_up_contact_recorded": DataCategory.PLACEMENT,
}

ALL_EVENT_TYPES: Final = (
    *intake.EVENT_TYPES,
    *language.EVENT_TYPES,
    *recognition.EVENT_TYPES,
    *placement.EVENT_TYPES,
)


def data_category(event_type: str) -> DataCategory | None:
    """The data category of ``event_type``; None for the case's administration.

    Raises KeyError for a type this module does not know: an unclassified event must not
    slip into any view.
    """
    return CATEGORY_OF[event_type]


# --- fields ---------------------------------------------------------------------------------

# Where a view may hold an event only in part: the fields it may hold (every other field is
# left out of its database). Absent means all fields of an event the view may hold.
_IDENTITY_TO_MATCH: Final = frozenset(
    {
        "given_name",
        "family_name",
        "date_of_birth",
        "date_of_birth_precision",
        "nationality",
        "site",
        "town",
        "allocated_on",
    }
)
PERMISSION_OUTCOME: Final = frozenset(
    {"request_id", "granted", "valid_until", "restrictions", "decided_on", "rule_version"}
)
"""What of the Ausländerbehörde's work-permission decision reaches the Agentur and the
Jobcenters: everything but the ``refusal_reason``."""
_FIELDS: Final[dict[tuple[ViewKind, str], frozenset[str]]] = {
    # The spoken languages serve counselling, not residence or benefit files.
    (ViewKind.AUSLAENDERBEHOERDE, "intake.person_registered"): _IDENTITY_TO_MATCH,
    (ViewKind.SOZIALAMT, "intake.person_registered"): _IDENTITY_TO_MATCH,
    # The Sozialamt learns when and to which Jobcenter the case passed, not the package.
    (ViewKind.SOZIALAMT, "intake.hand_over_accepted"): frozenset(
        {"handover_id", "reason", "to_agency", "accepted_on"}
    ),
    # The Ausländerbehörde's decision: the Agentur places within its outcome (granted, until
    # when, the restrictions that bound the job), never its grounds for a refusal, which are
    # residence-law findings about the person no SGB III/II task needs (§ 67a (1) SGB X;
    # docs/data-protection.md, "Work-permission decisions"). The Jobcenter holds the AA view.
    (ViewKind.AGENTUR, "placement.permission_decided"): PERMISSION_OUTCOME,
    (ViewKind.JOBCENTER, "placement.permission_decided"): PERMISSION_OUTCOME,
}


def visible_fields(view: ViewId, event_type: str) -> frozenset[str] | None:
    """The fields of ``event_type`` the view may hold; None means all of them."""
    return _FIELDS.get((view.kind, event_type))


# --- what the rules need about a case -------------------------------------------------------


@dataclass(frozen=True)
class Responsibility:
    """``agency`` became the responsible one on ``since`` (registration or hand-over), by
    the act recorded at ``recorded_at`` (when known: it orders the acts of that one day)."""

    agency: Agency
    since: date
    recorded_at: datetime | None = None

    def begun_for(self, day: date, at: datetime | None = None) -> bool:
        """Whether it had begun for what was recorded on ``day`` (at ``at``, if known)."""
        if self.since != day or at is None or self.recorded_at is None:
            return self.since <= day
        return self.recorded_at <= at


@dataclass(frozen=True)
class CategoryErasure:
    """A data category a retention period erased: on the German day ``on`` (at
    ``recorded_at``, when known), for what was recorded before."""

    category: DataCategory
    on: date
    recorded_at: datetime | None = None

    def covers(self, category: DataCategory | None, day: date, at: datetime | None) -> bool:
        """Whether data of ``category`` recorded on ``day`` (at ``at``) was erased: recorded
        before the erasure, ordered by the instant within the erasure's own day."""
        if category is not self.category:
            return False
        if self.on != day or at is None or self.recorded_at is None:
            return day < self.on
        return at < self.recorded_at


@dataclass(frozen=True)
class Employer:
    """One employer organisation, as a consent names it: by its Betriebsnummer."""

    betriebsnummer: str


@dataclass(frozen=True)
class ConsentFacts:
    """One Einwilligung as it stands (intake's rules, restated without importing intake)."""

    consent_id: UUID
    purposes: frozenset[Purpose]
    agencies: frozenset[Agency]
    partners: frozenset[Partner]
    data_categories: frozenset[DataCategory]
    given_on: date
    valid_until: date | None = None
    ended_on: date | None = None  # withdrawn or expired
    employers: frozenset[str] = frozenset()  # the Betriebsnummern of the employers it names

    def valid_on(self, day: date) -> bool:
        """Valid from ``given_on`` through ``valid_until``, its last day; no longer on the
        day it was withdrawn or recorded as expired."""
        if day < self.given_on or (self.ended_on is not None and day >= self.ended_on):
            return False
        return self.valid_until is None or day <= self.valid_until

    def names(self, recipient: Agency | Partner | Employer) -> bool:
        """Whether the consent names ``recipient``. An employer is named only as one
        organisation: a consent naming "employers" without one names none of them."""
        if isinstance(recipient, Agency):
            return recipient in self.agencies
        if isinstance(recipient, Employer):
            return recipient.betriebsnummer in self.employers
        return recipient is not Partner.EMPLOYER and recipient in self.partners


@dataclass(frozen=True)
class CaseFacts:
    """What the purpose rules need about one case, folded from intake and language events."""

    site: Site | None = None  # current: registration, then residence assignment or move
    responsibility: tuple[Responsibility, ...] = ()  # in order; the last one holds now
    rechtskreiswechsel_on: date | None = None  # accepted hand-over AA -> Jobcenter
    wohnsitzauflage_from: date | None = None
    # Language obligations (Verpflichtungen) an Ausländerbehörde issued: id -> its agency.
    abh_obligations: frozenset[tuple[UUID, Agency]] = frozenset()
    enrolments: frozenset[tuple[UUID, UUID]] = frozenset()  # enrolment id -> entitlement id
    consents: tuple[ConsentFacts, ...] = ()
    # Categories a retention period erased, and when: their events recorded before are gone.
    erased_categories: tuple[CategoryErasure, ...] = ()

    def category_erased(
        self, category: DataCategory | None, recorded_on: date, recorded_at: datetime | None = None
    ) -> bool:
        """Whether data of ``category`` recorded on ``recorded_on`` (at ``recorded_at``) was
        erased by retention."""
        return any(e.covers(category, recorded_on, recorded_at) for e in self.erased_categories)

    def responsible_on(self, day: date, at: datetime | None = None) -> Agency | None:
        """The agency responsible on ``day`` (at ``at``): the first one also for anything
        earlier."""
        if not self.responsibility:
            return None
        held = [r.agency for r in self.responsibility if r.begun_for(day, at)]
        return held[-1] if held else self.responsibility[0].agency

    def consent_lapses(self, after: date, by: date) -> bool:
        """Whether a consent's last day ends after day ``after`` and by day ``by`` (it was
        valid on ``after``, not on ``by``): from then on it opens nothing, though no event
        need say so (an expiry is recorded only if someone records it)."""
        return any(c.valid_until is not None and after <= c.valid_until < by for c in self.consents)

    def handed_on(self, agency: Agency, on: date) -> Responsibility | None:
        """The responsibility that last followed ``agency``'s, as seen on ``on`` (None if
        it never handed the case on by then)."""
        ends = [
            after
            for before, after in zip(self.responsibility, self.responsibility[1:], strict=False)
            if before.agency is agency and after.since <= on
        ]
        return ends[-1] if ends else None

    @property
    def sozialamt_relevant(self) -> bool:
        """The Sozialamt has something to learn: a Rechtskreiswechsel or an assignment."""
        return self.rechtskreiswechsel_on is not None or self.wohnsitzauflage_from is not None

    def obligation_issuer(self, entitlement_id: UUID) -> Agency | None:
        """The agency whose Ausländerbehörde obliged the person to this course, if any."""
        return next((a for e, a in self.abh_obligations if e == entitlement_id), None)

    def entitlement_of(self, enrolment_id: UUID) -> UUID | None:
        return next((e for n, e in self.enrolments if n == enrolment_id), None)


def evolve(  # noqa: PLR0911  # one arm per fact
    facts: CaseFacts, event: AnyEvent, recorded_at: datetime | None = None
) -> CaseFacts:
    """The facts after ``event`` (recorded at ``recorded_at``, when known); events that
    change no fact leave them as they are."""
    match event:
        case PersonRegistered():
            # Asylum seekers start in SGB III: the Agentur is responsible (as intake folds).
            start = (Responsibility(Agency.AA_MG, event.allocated_on, recorded_at),)
            return replace(facts, site=event.site, responsibility=facts.responsibility or start)
        case WohnsitzauflageImposed():
            return replace(facts, site=event.site, wohnsitzauflage_from=event.effective_from)
        case HandOverAccepted():
            return _accepted(facts, event, recorded_at)
        case ConsentGiven():
            consent = ConsentFacts(
                consent_id=event.consent_id,
                purposes=frozenset(event.purposes),
                agencies=frozenset(r.agency for r in event.recipients if r.agency is not None),
                partners=frozenset(r.partner for r in event.recipients if r.partner is not None),
                data_categories=frozenset(event.data_categories),
                given_on=event.given_on,
                valid_until=event.valid_until,
                employers=frozenset(
                    r.organisation for r in event.recipients if r.organisation is not None
                ),
            )
            return replace(facts, consents=(*facts.consents, consent))
        case ConsentWithdrawn():
            return _end_consent(facts, event.consent_id, event.withdrawn_on)
        case ConsentExpired():
            return _end_consent(facts, event.consent_id, event.expired_on)
        case EntitlementIssued(issuer=Issuer.ABH, kind=EntitlementKind.VERPFLICHTUNG):
            if event.issuing_agency is None:  # pragma: no cover - the contract forbids it
                return facts
            obligation = (event.entitlement_id, event.issuing_agency)
            return replace(facts, abh_obligations=facts.abh_obligations | {obligation})
        case EnrolmentStarted():
            enrolment = (event.enrolment_id, event.entitlement_id)
            return replace(facts, enrolments=facts.enrolments | {enrolment})
        case CategoryErased():
            erasure = CategoryErasure(event.category, event.erased_on, recorded_at)
            erased = (*facts.erased_categories, erasure)
            return replace(facts, erased_categories=erased)
    return facts


def case_facts(events: Iterable[AnyEvent]) -> CaseFacts:
    """The facts of a case from its events (intake and language; others change nothing)."""
    facts = CaseFacts()
    for event in events:
        facts = evolve(facts, event)
    return facts


def _accepted(facts: CaseFacts, event: HandOverAccepted, at: datetime | None) -> CaseFacts:
    # The Jugendberufsagentur route adds a network, not a new responsible agency.
    if event.reason is HandOverReason.UNDER_25_JUGENDBERUFSAGENTUR:
        return facts
    handed = (*facts.responsibility, Responsibility(event.to_agency, event.accepted_on, at))
    facts = replace(facts, responsibility=handed, site=event.new_site or facts.site)
    if event.reason is HandOverReason.RECHTSKREISWECHSEL:
        facts = replace(facts, rechtskreiswechsel_on=event.accepted_on)
    return facts


def _end_consent(facts: CaseFacts, consent_id: UUID, on: date) -> CaseFacts:
    consents = tuple(
        replace(c, ended_on=on) if c.consent_id == consent_id and c.ended_on is None else c
        for c in facts.consents
    )
    return replace(facts, consents=consents)


# --- the decision ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Grant:
    """The view may hold this event; on which ground, and which of its fields.

    Exactly one of ``basis`` and ``consent_id`` is set: that is what the disclosure log
    records next to the view's controller and the data category.
    """

    view: ViewId
    event_type: str
    category: DataCategory | None
    basis: LegalBasis | None
    consent_id: UUID | None
    read_only: bool  # history or a transfer: the view shows it but does not act on it
    fields: frozenset[str] | None = None  # None: every field

    def __post_init__(self) -> None:
        if (self.basis is None) == (self.consent_id is None):
            raise ValueError("a grant rests on exactly one ground: a legal basis or a consent")


def disclosure(
    view: ViewId,
    event: AnyEvent,
    case: CaseFacts,
    on: date,
    *,
    recorded_on: date,
    recorded_at: datetime | None = None,
) -> Grant | None:
    """May ``view`` hold ``event`` of ``case`` on day ``on``? None when it may not.

    A legal basis is looked for first; failing that, a consent valid on ``on`` that names
    the view's controller, a purpose the view pursues, and the event's data category.
    """
    if view.kind is ViewKind.STEERING:
        return None  # never a person: steering reads aggregates computed elsewhere
    category = data_category(event.type)
    if case.category_erased(category, recorded_on, recorded_at):
        return None  # its retention period ran out: no ground holds it any more
    basis = _legal_basis(view, event, case, on, (recorded_on, recorded_at))
    if basis is not None:
        ground, read_only = basis
        return Grant(
            view,
            event.type,
            category,
            ground,
            None,
            read_only,
            visible_fields(view, event.type),
        )
    consent = _consent(view, event, category, case, on)
    if consent is None:
        return None
    return Grant(view, event.type, category, None, consent, True, visible_fields(view, event.type))


# When an event was recorded: its German day, and the instant when the caller knows it.
Recorded: TypeAlias = tuple[date, datetime | None]


def _legal_basis(
    view: ViewId, event: AnyEvent, case: CaseFacts, on: date, recorded: Recorded
) -> tuple[LegalBasis, bool] | None:
    match view.kind:
        case ViewKind.AGENTUR | ViewKind.JOBCENTER:
            return _responsible(view, event, case, on, recorded)
        case ViewKind.AUSLAENDERBEHOERDE:
            return _auslaenderbehoerde(view, event, case)
        case ViewKind.SOZIALAMT:
            return _sozialamt(view, event, case)
    return None  # partners and steering have no legal basis of their own


def _responsible(
    view: ViewId, event: AnyEvent, case: CaseFacts, on: date, recorded: Recorded
) -> tuple[LegalBasis, bool] | None:
    """Agentur and Jobcenters: everything of a case while responsible; afterwards,
    read-only, what they had until they handed it on."""
    agency = view.controller
    if not isinstance(agency, Agency):  # pragma: no cover - every such view is an agency's
        return None
    # Data recorded while another agency was responsible reached this one by § 50 SGB II.
    then = case.responsible_on(*recorded)
    basis = LegalBasis.OWN_RESPONSIBILITY if then is agency else LegalBasis.SGB_II_50
    if case.responsible_on(on) is agency:
        return basis, False
    # The sender of a hand-over keeps the acceptance, its own act, with its history.
    if isinstance(event, HandOverAccepted) and event.from_agency is agency:
        return LegalBasis.OWN_RESPONSIBILITY, True
    successor = case.handed_on(agency, on)
    if successor is not None and not successor.begun_for(*recorded):
        return basis, True
    return None


# The Ausländerbehörde's own records and the work-permission procedure it decides.
_ABH_RECORDS: Final = frozenset(
    {
        "intake.person_registered",
        "intake.identifier_linked",
        "intake.residence_status_recorded",
        "intake.asylum_decided",  # the BAMF notifies the Ausländerbehörde (§ 40 AsylG)
        "intake.wohnsitzauflage_imposed",  # it imposes the assignment (§ 12a AufenthG)
        "placement.work_permission_requested",
        "placement.ba_consent_decided",  # the BA answers the Ausländerbehörde (§ 39 AufenthG)
        "placement.permission_decided",
    }
)
# The register numbers an office needs to match the person; not the BA's or Jobcenter's.
_REGISTER_IDENTIFIERS: Final = frozenset(
    {IdentifierKind.BAMF_AKTENZEICHEN, IdentifierKind.AZR_NUMMER}
)


def _auslaenderbehoerde(
    view: ViewId, event: AnyEvent, case: CaseFacts
) -> tuple[LegalBasis, bool] | None:
    """Its own records and work-permission procedure; course participation only under an
    obligation it issued itself. Never profile, tests, recognition, interpreters."""
    if case.site not in view.scope:
        return None
    own = (LegalBasis.AUFENTHG, False)
    match event:
        case IdentifierLinked() if event.kind not in _REGISTER_IDENTIFIERS:
            return None
        case EntitlementIssued():
            ok = event.issuer is Issuer.ABH and event.issuing_agency is view.controller
            return own if ok else None
        case EnrolmentStarted():
            return own if _obliged_by(view, event.entitlement_id, case) else None
        case AttendanceRecorded() | ExamTaken() | EnrolmentEnded():
            entitlement = case.entitlement_of(event.enrolment_id)
            ok = entitlement is not None and _obliged_by(view, entitlement, case)
            return own if ok else None
    return own if event.type in _ABH_RECORDS else None


def _obliged_by(view: ViewId, entitlement_id: UUID, case: CaseFacts) -> bool:
    return case.obligation_issuer(entitlement_id) is view.controller


def _sozialamt(view: ViewId, event: AnyEvent, case: CaseFacts) -> tuple[LegalBasis, bool] | None:
    """The date the Rechtskreiswechsel takes effect and the residence assignment, with the
    identity needed to match its file; nothing else, and no case it has no business with."""
    if case.site not in view.scope or not case.sozialamt_relevant:
        return None
    match event:
        case PersonRegistered():
            return LegalBasis.SGB_X_69, True
        case IdentifierLinked() if event.kind in _REGISTER_IDENTIFIERS:
            return LegalBasis.SGB_X_69, True
        case HandOverAccepted(reason=HandOverReason.RECHTSKREISWECHSEL):
            return LegalBasis.SGB_X_69, True
        case WohnsitzauflageImposed():
            return LegalBasis.ASYLBLG, False
    return None


def awaits_consented_data(view: ViewId, case: CaseFacts, on: date) -> bool:
    """Whether a consent valid on ``on`` names the view for a purpose it pursues: then the
    view keeps the case's facts (no personal data) while it holds nothing yet, so that data
    of a named category recorded later reaches it without waiting for another judgement."""
    recipient = view.controller
    if recipient is None:
        return False
    purposes = CONSENT_PURPOSES[view]
    return any(
        c.valid_on(on) and c.names(recipient) and purposes & c.purposes for c in case.consents
    )


def _consent(
    view: ViewId, event: AnyEvent, category: DataCategory | None, case: CaseFacts, on: date
) -> UUID | None:
    """The first consent valid on ``on`` that opens ``view`` for ``event``."""
    recipient = view.controller
    if recipient is None:
        return None
    return consent_for(recipient, CONSENT_PURPOSES[view], event, category, case, on)


def consent_for(  # noqa: PLR0917  # the same arguments as the two rules that ask
    recipient: Agency | Partner | Employer,
    purposes: frozenset[Purpose],
    event: AnyEvent,
    category: DataCategory | None,
    case: CaseFacts,
    on: date,
) -> UUID | None:
    """The first consent valid on ``on`` naming ``recipient``, one of ``purposes`` and the
    event's category (or, for a referral, the partner it was referred to)."""
    for consent in case.consents:
        if not consent.valid_on(on) or not consent.names(recipient):
            continue
        if isinstance(event, ReferredToPartner):
            # A partner sees its own referral under the consent that allowed it.
            if event.partner is recipient and event.purpose in consent.purposes:
                return consent.consent_id
            continue
        if category in consent.data_categories and purposes & consent.purposes:
            return consent.consent_id
    return None
