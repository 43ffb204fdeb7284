"""Commands intake accepts: frozen models, validated at the boundary (422 when malformed)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Self
from uuid import UUID

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from contracts.common import TOWNS_BY_SITE, CountryCode, KldbCode, LanguageCode, ShortText, Site
from contracts.envelope import Agency
from contracts.intake import (
    AsylumOutcome,
    Ausbildungsvertrag,
    BirthDatePrecision,
    ClosingReason,
    ConsentMethod,
    ContactChannel,
    DataCategory,
    HandOverReason,
    IdentifierKind,
    NoShowParty,
    Partner,
    Purpose,
    Recipient,
    ResidenceStatus,
    SchoolingEntry,
    VocationalEntry,
    WorkEntry,
)

Name = Annotated[str, Field(min_length=1, max_length=120)]


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RegisterPerson(_Command):
    """Register a person allocated to a town (opens the case; its id is minted here)."""

    given_name: Name
    family_name: Name
    date_of_birth: date
    date_of_birth_precision: BirthDatePrecision = BirthDatePrecision.DAY
    nationality: CountryCode
    languages: tuple[LanguageCode, ...] = Field(default=(), max_length=10)
    site: Site
    town: str = Field(min_length=1, max_length=80)
    allocated_on: date

    @model_validator(mode="after")
    def _town_belongs_to_site(self) -> Self:
        if self.town not in TOWNS_BY_SITE[self.site]:
            towns = ", ".join(sorted(TOWNS_BY_SITE[self.site]))
            raise ValueError(f"town {self.town!r} is not served by site {self.site}: {towns}")
        if self.allocated_on < self.date_of_birth:
            raise ValueError("allocated_on lies before date_of_birth")
        return self


class LinkIdentifier(_Command):
    """Link an identifier of another register (BAMF file number, BA customer number, ...)."""

    kind: IdentifierKind
    value: str = Field(min_length=1, max_length=40)


class RecordFirstContact(_Command):
    """Record the first contact with a registered person, and the interpreter's language."""

    contacted_on: date
    interpreter_language: LanguageCode | None = None


class RecordContact(_Command):
    """Record a later contact with the person."""

    contacted_on: date
    channel: ContactChannel


class RecordResidenceStatus(_Command):
    """Record the residence document the Ausländerbehörde issued."""

    status: ResidenceStatus
    valid_from: date
    valid_until: date | None = None
    stay_since: date
    reception_centre_obligation: bool = False
    safe_country_of_origin: bool = False
    # Checked even when left out, so that an Ausbildungsduldung without it is refused.
    ausbildung: Ausbildungsvertrag | None = Field(default=None, validate_default=True)

    @field_validator("ausbildung")
    @classmethod
    def _training_contract_exactly_for_ausbildungsduldung(
        cls, ausbildung: Ausbildungsvertrag | None, info: ValidationInfo
    ) -> Ausbildungsvertrag | None:
        is_training = info.data.get("status") is ResidenceStatus.AUSBILDUNGSDULDUNG
        if is_training and ausbildung is None:
            raise ValueError("an Ausbildungsduldung needs its training contract")
        if not is_training and ausbildung is not None:
            raise ValueError("a training contract belongs to an Ausbildungsduldung only")
        return ausbildung

    @model_validator(mode="after")
    def _dates_in_order(self) -> Self:
        if self.valid_until is not None and self.valid_until <= self.valid_from:
            raise ValueError("valid_until must lie after valid_from")
        if self.stay_since > self.valid_from:
            raise ValueError("stay_since cannot lie after valid_from")
        return self


class RecordAsylumDecision(_Command):
    """Record the BAMF's decision on the asylum application."""

    outcome: AsylumOutcome
    decided_on: date


class ImposeWohnsitzauflage(_Command):
    """Record a residence assignment to a town of the two Integration Points."""

    town: str = Field(min_length=1, max_length=80)
    effective_from: date

    @model_validator(mode="after")
    def _town_is_served(self) -> Self:
        if not any(self.town in towns for towns in TOWNS_BY_SITE.values()):
            raise ValueError(f"town {self.town!r} is served by no Integration Point site")
        return self


class RecordSgbIIApplication(_Command):
    """Record an SGB II application; a hand-over to the Jobcenter follows automatically."""

    applied_on: date


class GiveConsent(_Command):
    """Record an Einwilligung naming purposes, recipients and data categories."""

    consent_id: UUID
    purposes: tuple[Purpose, ...]
    recipients: tuple[Recipient, ...]
    data_categories: tuple[DataCategory, ...]
    notice_version: ShortText
    notice_language: LanguageCode
    method: ConsentMethod
    given_on: date
    valid_until: date | None = None
    given_by_guardian: bool = False
    guardian_name: Name | None = None
    witness_name: Name | None = None

    @field_validator("recipients")
    @classmethod
    def _each_employer_by_name(cls, recipients: tuple[Recipient, ...]) -> tuple[Recipient, ...]:
        # Each employer is a recipient of its own: "employers" in general is a blanket.
        if any(r.partner is Partner.EMPLOYER and r.organisation is None for r in recipients):
            raise ValueError("an employer is named by its organisation (Betriebsnummer)")
        return recipients

    @model_validator(mode="after")
    def _never_blanket(self) -> Self:
        missing = [
            name
            for name in ("purposes", "recipients", "data_categories")
            if not getattr(self, name)
        ]
        if missing:
            raise ValueError(
                f"a blanket consent is not allowed: name at least one of {', '.join(missing)}"
            )
        if self.given_by_guardian != (self.guardian_name is not None):
            raise ValueError("guardian_name is required exactly when given_by_guardian")
        if self.method is ConsentMethod.ORAL_WITH_WITNESS and self.witness_name is None:
            raise ValueError("an oral consent needs witness_name")
        if self.valid_until is not None and self.valid_until <= self.given_on:
            raise ValueError("valid_until must lie after given_on")
        return self


class WithdrawConsent(_Command):
    """Record that the person withdrew a consent."""

    consent_id: UUID
    withdrawn_on: date


class ExpireConsent(_Command):
    """Record that a consent reached its valid_until."""

    consent_id: UUID
    expired_on: date


class RecordProfile(_Command):
    """Record schooling, vocational and work history (with countries) and the target job."""

    schooling: tuple[SchoolingEntry, ...] = Field(default=(), max_length=20)
    vocational: tuple[VocationalEntry, ...] = Field(default=(), max_length=20)
    work_history: tuple[WorkEntry, ...] = Field(default=(), max_length=40)
    target_occupation: KldbCode | None = None


class RequestInterpreter(_Command):
    """Request an interpreter (Sprachmittler) for an appointment."""

    request_id: UUID
    language: LanguageCode
    dialect: ShortText | None = None
    slot_start: AwareDatetime


class AssignInterpreter(_Command):
    """Record which interpreter of the pool takes a request."""

    request_id: UUID
    interpreter_ref: ShortText


class RecordInterpreterSession(_Command):
    """Record that an interpreted session took place."""

    request_id: UUID


class RecordInterpreterNoShow(_Command):
    """Record that the interpreter or the client did not come."""

    request_id: UUID
    party: NoShowParty


class ReferToPartner(_Command):
    """Refer the person to a network partner named in a valid consent."""

    referral_id: UUID
    partner: Partner
    purpose: Purpose
    referred_on: date


class RequestHandOver(_Command):
    """Offer the case to another responsible agency (phase one of a hand-over)."""

    handover_id: UUID
    to_agency: Agency
    reason: HandOverReason
    requested_on: date


class AcceptHandOver(_Command):
    """Accept an offered case: the receiver is responsible from now on."""

    handover_id: UUID
    accepted_on: date


class RejectHandOver(_Command):
    """Reject an offered case, with the reason."""

    handover_id: UUID
    rejected_on: date
    reason: ShortText


class CloseCase(_Command):
    """Close the case with its reason."""

    reason: ClosingReason
    closed_on: date


class ErasePerson(_Command):
    """Erase the person (DSGVO Art. 17) after the legal check: their key is deleted."""

    reason: ShortText
    erased_on: date


class EraseCategory(_Command):
    """Erase one data category of the case whose retention period ran out, while the case's
    other periods run on (the retention job's; no HTTP endpoint)."""

    category: DataCategory
    rule: ShortText
    legal_basis: ShortText
    kept_until: date
    erased_on: date


IntakeCommand = (
    RegisterPerson
    | LinkIdentifier
    | RecordFirstContact
    | RecordContact
    | RecordResidenceStatus
    | RecordAsylumDecision
    | ImposeWohnsitzauflage
    | RecordSgbIIApplication
    | GiveConsent
    | WithdrawConsent
    | ExpireConsent
    | RecordProfile
    | RequestInterpreter
    | AssignInterpreter
    | RecordInterpreterSession
    | RecordInterpreterNoShow
    | ReferToPartner
    | RequestHandOver
    | AcceptHandOver
    | RejectHandOver
    | CloseCase
    | ErasePerson
    | EraseCategory
)
