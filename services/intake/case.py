"""The state intake folds from a case's events (pure: no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from uuid import UUID

from contracts.common import CefrLevel, Site
from contracts.envelope import Agency
from contracts.intake import (
    AsylumOutcome,
    DataCategory,
    HandOverReason,
    IdentifierKind,
    Partner,
    Purpose,
    Recipient,
    ResidenceStatus,
)
from services.chassis.periods import age_on


@dataclass(frozen=True)
class Consent:
    """One Einwilligung as it stands."""

    consent_id: UUID
    purposes: frozenset[Purpose]
    recipients: tuple[Recipient, ...]
    data_categories: frozenset[DataCategory]
    given_on: date
    valid_until: date | None
    ended_on: date | None = None  # withdrawn or expired

    def valid_on(self, day: date) -> bool:
        """From ``given_on`` through ``valid_until``, its last day (it ends at midnight
        Europe/Berlin after it); no longer from the day it was withdrawn or expired."""
        if day < self.given_on or (self.ended_on is not None and day >= self.ended_on):
            return False
        return self.valid_until is None or day <= self.valid_until

    def names(self, recipient: Agency | Partner, purpose: Purpose) -> bool:
        named = any(recipient in (r.agency, r.partner) for r in self.recipients)
        return named and purpose in self.purposes


@dataclass(frozen=True)
class PendingHandOver:
    handover_id: UUID
    from_agency: Agency
    to_agency: Agency
    reason: HandOverReason


class InterpreterStage(StrEnum):
    REQUESTED = "requested"
    ASSIGNED = "assigned"
    HELD = "held"
    NO_SHOW = "no_show"


@dataclass(frozen=True)
class Milestones:
    """What intake learned from the other services' topics, for the hand-over package."""

    language_level: CefrLevel | None = None
    running_courses: tuple[str, ...] = ()
    recognition_state: str | None = None
    measures: tuple[str, ...] = ()
    employer_contacts: int = 0


@dataclass(frozen=True)
class Case:
    """What intake needs to know about a case to decide the next command."""

    case_id: UUID
    site: Site
    town: str
    allocated_on: date
    responsible: Agency
    date_of_birth: date | None = None  # None while sealed, or once the key is erased
    first_contact_on: date | None = None
    interpreter_language: str | None = None
    identifiers: frozenset[IdentifierKind] = frozenset()
    residence_status: ResidenceStatus | None = None
    asylum_outcome: AsylumOutcome | None = None
    sgb2_applied_on: date | None = None
    assigned_site: Site | None = None  # by a Wohnsitzauflage
    consents: tuple[Consent, ...] = ()
    profile_completeness: int = 0
    interpreters: tuple[tuple[UUID, InterpreterStage], ...] = ()
    referrals: frozenset[UUID] = frozenset()
    pending: PendingHandOver | None = None
    jba_route: bool = False
    closed_on: date | None = None
    erased_on: date | None = None
    # Per category erased by retention: the last day the expired period allowed.
    categories_erased: tuple[tuple[DataCategory, date], ...] = ()
    held_by: frozenset[Agency] = frozenset()  # every agency that was responsible (controllers)
    # Set by the handler before deciding, never folded from events:
    acting: Agency = Agency.AA_MG
    milestones: Milestones = field(default_factory=Milestones)

    def consent(self, consent_id: UUID) -> Consent | None:
        return next((c for c in self.consents if c.consent_id == consent_id), None)

    def category_kept_until(self, category: DataCategory) -> date | None:
        """The end of the latest period after which ``category`` was erased, if any."""
        return max((until for c, until in self.categories_erased if c is category), default=None)

    def interpreter_stage(self, request_id: UUID) -> InterpreterStage | None:
        return dict(self.interpreters).get(request_id)

    def age_on(self, day: date) -> int | None:
        born = self.date_of_birth
        if born is None:
            return None
        return age_on(born, day)

    @property
    def protection_granted(self) -> bool:
        return self.asylum_outcome is not None and self.asylum_outcome.grants_protection

    @property
    def current_site(self) -> Site:
        return self.assigned_site or self.site
