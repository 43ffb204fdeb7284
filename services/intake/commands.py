"""Commands intake accepts: frozen models, validated at the boundary (422 when malformed)."""

from __future__ import annotations

from datetime import date
from typing import Self
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

from contracts.common import TOWNS_BY_SITE, KldbCode, Site
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
)
from contracts.intake import SchoolingEntry as SchoolingShape
from contracts.intake import VocationalEntry as VocationalShape
from contracts.intake import WorkEntry as WorkShape
from services.chassis.validation import (
    BirthDate,
    CountryCode,
    FieldsError,
    LanguageCode,
    PastDate,
    PersonName,
    ShortText,
)


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RegisterPerson(_Command):
    """Register a person allocated to a town (opens the case; its id is minted here)."""

    given_name: PersonName
    family_name: PersonName
    date_of_birth: BirthDate
    date_of_birth_precision: BirthDatePrecision = BirthDatePrecision.DAY
    nationality: CountryCode
    languages: tuple[LanguageCode, ...] = Field(default=(), max_length=10)
    site: Site
    town: str = Field(min_length=1, max_length=80)
    allocated_on: PastDate

    @model_validator(mode="after")
    def _town_belongs_to_site(self) -> Self:
        if self.town not in TOWNS_BY_SITE[self.site]:
            towns = ", ".join(sorted(TOWNS_BY_SITE[self.site]))
            raise FieldsError(
                f"town {self.town!r} is not served by site {self.site}: {towns}", "town"
            )
        if self.allocated_on < self.date_of_birth:
            raise FieldsError("allocated_on lies before date_of_birth", "allocated_on")
        return self


class LinkIdentifier(_Command):
    """Link an identifier of another register (BAMF file number, BA customer number, ...)."""

    kind: IdentifierKind
    value: str = Field(min_length=1, max_length=40)


class RecordFirstContact(_Command):
    """Record the first contact with a registered person, and the interpreter's language."""

    contacted_on: PastDate
    interpreter_language: LanguageCode | None = None


class RecordContact(_Command):
    """Record a later contact with the person."""

    contacted_on: PastDate
    channel: ContactChannel


class RecordResidenceStatus(_Command):
    """Record the residence document the Ausländerbehörde issued."""

    status: ResidenceStatus
    valid_from: date
    valid_until: date | None = None
    stay_since: PastDate
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
            raise FieldsError("valid_until must lie after valid_from", "valid_until")
        if self.stay_since > self.valid_from:
            raise FieldsError("stay_since cannot lie after valid_from", "stay_since")
        return self


class RecordAsylumDecision(_Command):
    """Record the BAMF's decision on the asylum application."""

    outcome: AsylumOutcome
    decided_on: PastDate


class ImposeWohnsitzauflage(_Command):
    """Record a residence assignment to a town of the two Integration Points."""

    town: str = Field(min_length=1, max_length=80)
    effective_from: date

    @model_validator(mode="after")
    def _town_is_served(self) -> Self:
        if not any(self.town in towns for towns in TOWNS_BY_SITE.values()):
            raise FieldsError(f"town {self.town!r} is served by no Integration Point site", "town")
        return self


class RecordSgbIIApplication(_Command):
    """Record an SGB II application; a hand-over to the Jobcenter follows automatically."""

    applied_on: PastDate


class GiveConsent(_Command):
    """Record an Einwilligung naming purposes, recipients and data categories."""

    consent_id: UUID
    purposes: tuple[Purpose, ...]
    recipients: tuple[Recipient, ...]
    data_categories: tuple[DataCategory, ...]
    notice_version: ShortText
    notice_language: LanguageCode
    method: ConsentMethod
    given_on: PastDate
    valid_until: date | None = None
    given_by_guardian: bool = False
    guardian_name: PersonName | None = None
    witness_name: PersonName | None = None

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
            raise FieldsError(
                f"a blanket consent is not allowed: name at least one of {', '.join(missing)}",
                *missing,
            )
        if self.given_by_guardian != (self.guardian_name is not None):
            raise FieldsError(
                "guardian_name is required exactly when given_by_guardian", "guardian_name"
            )
        if self.method is ConsentMethod.ORAL_WITH_WITNESS and self.witness_name is None:
            raise FieldsError("an oral consent needs witness_name", "witness_name")
        if self.valid_until is not None and self.valid_until <= self.given_on:
            raise FieldsError("valid_until must lie after given_on", "valid_until")
        return self


class WithdrawConsent(_Command):
    """Record that the person withdrew a consent."""

    consent_id: UUID
    withdrawn_on: PastDate


class ExpireConsent(_Command):
    """Record that a consent reached its valid_until."""

    consent_id: UUID
    expired_on: PastDate


# The profile's parts as the contract has them, their countries and texts checked as input.
class SchoolingEntry(SchoolingShape):
    country: CountryCode
    qualification: ShortText | None = None


class VocationalEntry(VocationalShape):
    country: CountryCode
    occupation: ShortText


class WorkEntry(WorkShape):
    country: CountryCode
    occupation: ShortText


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
    referred_on: PastDate


class RequestHandOver(_Command):
    """Offer the case to another responsible agency (phase one of a hand-over)."""

    handover_id: UUID
    to_agency: Agency
    reason: HandOverReason
    requested_on: PastDate


class AcceptHandOver(_Command):
    """Accept an offered case: the receiver is responsible from now on."""

    handover_id: UUID
    accepted_on: PastDate


class RejectHandOver(_Command):
    """Reject an offered case, with the reason."""

    handover_id: UUID
    rejected_on: PastDate
    reason: ShortText


class CloseCase(_Command):
    """Close the case with its reason."""

    reason: ClosingReason
    closed_on: PastDate


class ErasePerson(_Command):
    """Erase the person (DSGVO Art. 17) after the legal check: their key is deleted."""

    reason: ShortText
    erased_on: PastDate


class EraseCategory(_Command):
    """Erase one data category of the case whose retention period ran out, while the case's
    other periods run on (the retention job's; no HTTP endpoint)."""

    category: DataCategory
    rule: ShortText
    legal_basis: ShortText
    kept_until: PastDate
    erased_on: PastDate


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
