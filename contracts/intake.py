"""Events of intake's case stream, topic ``ip.intake.case.v1`` (key: case id).

The case from allocation to a town onwards: registration, identifiers, residence status,
consents, profile, interpreters, referrals, the one responsible agency and its hand-overs,
and the closing of the case.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Final, Literal, Self
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from contracts.codec import TopicCodec
from contracts.common import (
    CefrLevel,
    CountryCode,
    EventPayload,
    KldbCode,
    LanguageCode,
    ShortText,
    Site,
)
from contracts.envelope import Agency, Envelope
from contracts.personal import OptionalPersonalText, PersonalDate, PersonalText

TOPIC: Final = "ip.intake.case.v1"


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --- registration and identifiers -------------------------------------------------------


class BirthDatePrecision(StrEnum):
    """How much of a date of birth is known; documents often give only the year."""

    DAY = "day"
    MONTH = "month"
    YEAR = "year"


class PersonRegistered(EventPayload):
    """A person was allocated to a town and registered at its Integration Point.

    v2 added ``date_of_birth_precision``; v1 events are read as precise to the day.
    """

    type: Literal["intake.person_registered"] = "intake.person_registered"
    schema_version: Literal[2] = 2
    given_name: PersonalText
    family_name: PersonalText
    date_of_birth: PersonalDate
    date_of_birth_precision: BirthDatePrecision = BirthDatePrecision.DAY
    nationality: CountryCode
    languages: tuple[LanguageCode, ...] = ()
    site: Site
    town: str
    allocated_on: date = Field(description="date of the allocation (Zuweisung) to the town")


class IdentifierKind(StrEnum):
    BAMF_AKTENZEICHEN = "bamf_file_number"
    BA_KUNDENNUMMER = "ba_customer_number"
    JOBCENTER_KUNDENNUMMER = "jobcenter_customer_number"
    AZR_NUMMER = "azr_number"


class IdentifierLinked(EventPayload):
    """An identifier of another register was linked to the case."""

    type: Literal["intake.identifier_linked"] = "intake.identifier_linked"
    schema_version: Literal[1] = 1
    kind: IdentifierKind
    value: PersonalText


class FirstContactMade(EventPayload):
    """The Integration Point reached the person for the first time (Early Intervention)."""

    type: Literal["intake.first_contact_made"] = "intake.first_contact_made"
    schema_version: Literal[1] = 1
    contacted_on: date
    interpreter_language: LanguageCode | None = Field(
        default=None, description="language of the interpreter (Sprachmittler), if one took part"
    )


class ContactChannel(StrEnum):
    IN_PERSON = "in_person"
    PHONE = "phone"
    VIDEO = "video"
    SHARED_HOUSING_OUTREACH = "shared_housing_outreach"


class ContactRecorded(EventPayload):
    """A later contact with the person (contact gaps are measured from these)."""

    type: Literal["intake.contact_recorded"] = "intake.contact_recorded"
    schema_version: Literal[1] = 1
    contacted_on: date
    channel: ContactChannel
    by_agency: Agency


# --- residence ------------------------------------------------------------------------------


class ResidenceStatus(StrEnum):
    AUFENTHALTSGESTATTUNG = "aufenthaltsgestattung"  # permission to stay during the procedure
    DULDUNG = "duldung"  # deportation suspended
    # Toleration for vocational training: § 60a (2) S. 4 ff. AufenthG from 6 August 2016,
    # § 60c AufenthG from 1 January 2020. The person stays with the Agentur (no SGB II).
    AUSBILDUNGSDULDUNG = "ausbildungsduldung"
    AUFENTHALTSERLAUBNIS_25_1 = "aufenthaltserlaubnis_25_1"  # recognised Asylberechtigte
    AUFENTHALTSERLAUBNIS_25_2_GFK = "aufenthaltserlaubnis_25_2_gfk"  # refugee status
    AUFENTHALTSERLAUBNIS_25_2_SUBSIDIAER = "aufenthaltserlaubnis_25_2_subsidiaer"
    AUFENTHALTSERLAUBNIS_25_3 = "aufenthaltserlaubnis_25_3"  # national deportation ban
    AUFENTHALTSERLAUBNIS_OTHER = "aufenthaltserlaubnis_other"
    NIEDERLASSUNGSERLAUBNIS = "niederlassungserlaubnis"


class Ausbildungsvertrag(_Part):
    """The training contract an Ausbildungsduldung is granted for, as far as the
    Ausländerbehörde needs it: the Duldung lasts for the contract's duration of the training
    (§ 60a (2) S. 5 AufenthG 2016, § 60c (3) S. 1 AufenthG), and the training company must
    tell it when the training is not pursued or broken off (§ 60a (2) S. 7, § 60c (5))."""

    ausbildungsbetrieb: ShortText = Field(description="the training company (Ausbildungsbetrieb)")
    ausbildungsberuf: KldbCode = Field(
        description="the state-recognised training occupation, KldB 2010"
    )
    beginnt_am: date = Field(description="first day of the training under the contract")
    endet_am: date = Field(description="last day of the training under the contract")

    @model_validator(mode="after")
    def _ends_after_it_begins(self) -> Self:
        if self.endet_am <= self.beginnt_am:
            raise ValueError("endet_am must lie after beginnt_am")
        return self


class ResidenceStatusRecorded(EventPayload):
    """The Ausländerbehörde's residence document as seen at the Integration Point.

    v2 added ``ausbildung``, the training contract of an Ausbildungsduldung; v1 events
    carry none.
    """

    type: Literal["intake.residence_status_recorded"] = "intake.residence_status_recorded"
    schema_version: Literal[2] = 2
    status: ResidenceStatus
    valid_from: date
    valid_until: date | None = None
    stay_since: date = Field(
        description="start of the permitted or tolerated stay; waiting periods count from it"
    )
    reception_centre_obligation: bool = Field(
        default=False, description="obliged to live in a reception centre (no work then)"
    )
    safe_country_of_origin: bool = False
    ausbildung: Ausbildungsvertrag | None = Field(
        default=None, description="the training contract; set exactly for an Ausbildungsduldung"
    )


class AsylumOutcome(StrEnum):
    ASYLBERECHTIGUNG = "asylberechtigung"  # Art. 16a GG
    FLUECHTLINGSEIGENSCHAFT = "fluechtlingseigenschaft"  # refugee status, § 3 AsylG
    SUBSIDIAERER_SCHUTZ = "subsidiaerer_schutz"  # § 4 AsylG
    ABSCHIEBUNGSVERBOT = "abschiebungsverbot"  # § 60 (5)/(7) AufenthG
    ABGELEHNT = "abgelehnt"

    @property
    def grants_protection(self) -> bool:
        return self is not AsylumOutcome.ABGELEHNT


class AsylumDecided(EventPayload):
    """The BAMF decided the asylum application."""

    type: Literal["intake.asylum_decided"] = "intake.asylum_decided"
    schema_version: Literal[1] = 1
    outcome: AsylumOutcome
    decided_on: date


class WohnsitzauflageImposed(EventPayload):
    """A residence assignment binds the person to a town (and so to its site)."""

    type: Literal["intake.wohnsitzauflage_imposed"] = "intake.wohnsitzauflage_imposed"
    schema_version: Literal[1] = 1
    town: str
    site: Site
    effective_from: date


class SgbIIApplicationRecorded(EventPayload):
    """The person applied for SGB II benefits at a Jobcenter."""

    type: Literal["intake.sgb2_application_recorded"] = "intake.sgb2_application_recorded"
    schema_version: Literal[1] = 1
    applied_on: date
    jobcenter: Agency


# --- consent --------------------------------------------------------------------------------


class Purpose(StrEnum):
    COUNSELLING = "counselling"
    PLACEMENT = "placement"
    LANGUAGE_COURSES = "language_courses"
    RECOGNITION = "recognition"
    HAND_OVER = "hand_over"
    INTERPRETING = "interpreting"


class DataCategory(StrEnum):
    IDENTITY = "identity"
    RESIDENCE = "residence"
    PROFILE = "profile"  # schooling, vocational and work history
    LANGUAGE = "language"
    RECOGNITION = "recognition"
    PLACEMENT = "placement"
    INTERPRETER = "interpreter"


class Partner(StrEnum):
    """Network partners that may be named in a consent or receive a referral."""

    IQ_COUNSELLING = "iq_counselling"
    JUGENDBERUFSAGENTUR = "jugendberufsagentur"
    MIGRATION_COUNSELLING = "migration_counselling"
    COURSE_PROVIDER = "course_provider"
    IHK_FOSA = "ihk_fosa"
    HWK_DUESSELDORF = "hwk_duesseldorf"
    EMPLOYER = "employer"


Betriebsnummer = Annotated[
    str,
    Field(
        pattern=r"^[0-9]{8}$",
        description="the employer's Betriebsnummer (eight digits, issued by the BA)",
        examples=["12345678"],
    ),
]


class Recipient(_Part):
    """Who may receive the data: an agency, or a partner (optionally a named person there).
    An employer is named as one organisation (``organisation``): each employer is a
    recipient of its own, and ``partner: employer`` without one names no employer at all."""

    agency: Agency | None = None
    partner: Partner | None = None
    named_person: OptionalPersonalText = None
    # Added within schema version 1 (additive, optional) and left off the wire when absent,
    # so that events written before it re-serialise exactly as they were.
    organisation: Betriebsnummer | None = Field(
        default=None,
        exclude_if=lambda value: value is None,
        description="with partner 'employer': the employer organisation the consent names",
    )

    @model_validator(mode="after")
    def _exactly_one_body(self) -> Self:
        if (self.agency is None) == (self.partner is None):
            raise ValueError("a recipient is either an agency or a partner")
        if self.organisation is not None and self.partner is not Partner.EMPLOYER:
            raise ValueError("only an employer is named by its organisation")
        return self


class ConsentMethod(StrEnum):
    WRITTEN = "written"
    ORAL_WITH_WITNESS = "oral_with_witness"
    ELECTRONIC = "electronic"


class ConsentGiven(EventPayload):
    """An Einwilligung: named purposes x recipients x data categories; never blanket."""

    type: Literal["intake.consent_given"] = "intake.consent_given"
    schema_version: Literal[1] = 1
    consent_id: UUID
    purposes: tuple[Purpose, ...] = Field(min_length=1)
    recipients: tuple[Recipient, ...] = Field(min_length=1)
    data_categories: tuple[DataCategory, ...] = Field(min_length=1)
    notice_version: ShortText
    notice_language: LanguageCode
    method: ConsentMethod
    given_on: date
    valid_until: date | None = None
    given_by_guardian: bool = False
    guardian_name: OptionalPersonalText = None
    witness_name: OptionalPersonalText = None


class ConsentWithdrawn(EventPayload):
    type: Literal["intake.consent_withdrawn"] = "intake.consent_withdrawn"
    schema_version: Literal[1] = 1
    consent_id: UUID
    withdrawn_on: date


class ConsentExpired(EventPayload):
    type: Literal["intake.consent_expired"] = "intake.consent_expired"
    schema_version: Literal[1] = 1
    consent_id: UUID
    expired_on: date


# --- profile --------------------------------------------------------------------------------


class SchoolingEntry(_Part):
    country: CountryCode
    years: int = Field(ge=0, le=20)
    qualification: ShortText | None = None


class VocationalEntry(_Part):
    country: CountryCode
    occupation: ShortText
    kldb: KldbCode | None = None
    years: int = Field(ge=0, le=20)
    certified: bool = False


class WorkEntry(_Part):
    country: CountryCode
    occupation: ShortText
    kldb: KldbCode | None = None
    from_year: int = Field(ge=1940, le=2100)
    to_year: int | None = Field(default=None, ge=1940, le=2100)


class ProfileRecorded(EventPayload):
    """The person's profile: schooling, vocational and work history with the country of
    origin of each, and the target occupation; ``completeness`` is derived by intake."""

    type: Literal["intake.profile_recorded"] = "intake.profile_recorded"
    schema_version: Literal[1] = 1
    schooling: tuple[SchoolingEntry, ...] = ()
    vocational: tuple[VocationalEntry, ...] = ()
    work_history: tuple[WorkEntry, ...] = ()
    target_occupation: KldbCode | None = None
    completeness_percent: int = Field(ge=0, le=100)


# --- interpreters and referrals -------------------------------------------------------------


class InterpreterRequested(EventPayload):
    type: Literal["intake.interpreter_requested"] = "intake.interpreter_requested"
    schema_version: Literal[1] = 1
    request_id: UUID
    language: LanguageCode
    dialect: ShortText | None = None
    slot_start: AwareDatetime
    cost_bearer: Agency = Field(description="the agency responsible on the appointment date")


class InterpreterAssigned(EventPayload):
    type: Literal["intake.interpreter_assigned"] = "intake.interpreter_assigned"
    schema_version: Literal[1] = 1
    request_id: UUID
    interpreter_ref: ShortText = Field(description="the interpreter pool's reference")


class InterpreterSessionHeld(EventPayload):
    type: Literal["intake.interpreter_session_held"] = "intake.interpreter_session_held"
    schema_version: Literal[1] = 1
    request_id: UUID


class NoShowParty(StrEnum):
    INTERPRETER = "interpreter"
    CLIENT = "client"


class InterpreterNoShow(EventPayload):
    type: Literal["intake.interpreter_no_show"] = "intake.interpreter_no_show"
    schema_version: Literal[1] = 1
    request_id: UUID
    party: NoShowParty


class ReferredToPartner(EventPayload):
    """Referral to a network partner (IQ counselling, Jugendberufsagentur, ...)."""

    type: Literal["intake.referred_to_partner"] = "intake.referred_to_partner"
    schema_version: Literal[1] = 1
    referral_id: UUID
    partner: Partner
    purpose: Purpose
    referred_on: date


# --- responsibility and hand-over -----------------------------------------------------------


class HandOverReason(StrEnum):
    RECHTSKREISWECHSEL = "rechtskreiswechsel"  # protection granted + SGB II applied for
    MOVE_BETWEEN_JOBCENTERS = "move_between_jobcenters"  # residence assignment elsewhere
    UNDER_25_JUGENDBERUFSAGENTUR = "under_25_jugendberufsagentur"


class HandOverPackage(_Part):
    """What travels with a case to its new responsible agency (DOMAIN.md step 7)."""

    identifiers: tuple[IdentifierKind, ...]
    residence_status: ResidenceStatus | None
    asylum_outcome: AsylumOutcome | None
    profile_completeness_percent: int = Field(ge=0, le=100)
    language_level: CefrLevel | None = None
    running_courses: tuple[ShortText, ...] = ()
    recognition_state: ShortText | None = None
    measures: tuple[ShortText, ...] = ()
    employer_contacts: int = Field(default=0, ge=0)
    interpreter_language: LanguageCode | None = None
    valid_consents: tuple[UUID, ...] = ()


class HandOverRequested(EventPayload):
    """Phase one: the sender offers the case with its package."""

    type: Literal["intake.hand_over_requested"] = "intake.hand_over_requested"
    schema_version: Literal[1] = 1
    handover_id: UUID
    from_agency: Agency
    to_agency: Agency
    reason: HandOverReason
    package: HandOverPackage
    requested_on: date


class HandOverAccepted(EventPayload):
    """Phase two: the receiver is responsible from now on; the sender keeps read-only history."""

    type: Literal["intake.hand_over_accepted"] = "intake.hand_over_accepted"
    schema_version: Literal[1] = 1
    handover_id: UUID
    from_agency: Agency
    to_agency: Agency
    reason: HandOverReason
    accepted_on: date
    new_site: Site | None = Field(default=None, description="set when the person moved")


class HandOverRejected(EventPayload):
    type: Literal["intake.hand_over_rejected"] = "intake.hand_over_rejected"
    schema_version: Literal[1] = 1
    handover_id: UUID
    rejected_on: date
    reason: ShortText


# --- closing --------------------------------------------------------------------------------


class ClosingReason(StrEnum):
    WORK = "work"
    APPRENTICESHIP = "apprenticeship"
    MOVED_AWAY = "moved_away"
    LEFT_GERMANY = "left_germany"
    CONTACT_LOST = "contact_lost"
    OTHER = "other"


class CaseClosed(EventPayload):
    type: Literal["intake.case_closed"] = "intake.case_closed"
    schema_version: Literal[1] = 1
    reason: ClosingReason
    closed_on: date


# --- erasure -------------------------------------------------------------------------------


class PersonErased(EventPayload):
    """DSGVO Art. 17: the person's key was deleted, so every sealed copy is unreadable; the
    controller and its reason (after the legal check) are kept, no personal data."""

    type: Literal["intake.person_erased"] = "intake.person_erased"
    schema_version: Literal[1] = 1
    controller: Agency
    reason: ShortText
    erased_on: date


class CategoryErased(EventPayload):
    """Retention (Art. 5(1)(e), Art. 17(1)(a) DSGVO): the period of one data category ran
    out while the case's other periods run on. Every view and partner feed drops the
    category's events of the case recorded before this one; the person and the rest of the
    case stay. The retention rule and its legal source are kept, no personal data."""

    type: Literal["intake.category_erased"] = "intake.category_erased"
    schema_version: Literal[1] = 1
    category: DataCategory = Field(description="the data category whose events go")
    controller: Agency
    rule: ShortText = Field(description="the retention rule that ran out (its id)")
    legal_basis: ShortText = Field(description="the rule's legal source")
    kept_until: date = Field(description="the last day the rule allowed the data to be kept")
    erased_on: date


EVENT_TYPES: Final = (
    PersonRegistered,
    IdentifierLinked,
    FirstContactMade,
    ContactRecorded,
    ResidenceStatusRecorded,
    AsylumDecided,
    WohnsitzauflageImposed,
    SgbIIApplicationRecorded,
    ConsentGiven,
    ConsentWithdrawn,
    ConsentExpired,
    ProfileRecorded,
    InterpreterRequested,
    InterpreterAssigned,
    InterpreterSessionHeld,
    InterpreterNoShow,
    ReferredToPartner,
    HandOverRequested,
    HandOverAccepted,
    HandOverRejected,
    CaseClosed,
    PersonErased,
    CategoryErased,
)

IntakeEvent = Annotated[
    PersonRegistered
    | IdentifierLinked
    | FirstContactMade
    | ContactRecorded
    | ResidenceStatusRecorded
    | AsylumDecided
    | WohnsitzauflageImposed
    | SgbIIApplicationRecorded
    | ConsentGiven
    | ConsentWithdrawn
    | ConsentExpired
    | ProfileRecorded
    | InterpreterRequested
    | InterpreterAssigned
    | InterpreterSessionHeld
    | InterpreterNoShow
    | ReferredToPartner
    | HandOverRequested
    | HandOverAccepted
    | HandOverRejected
    | CaseClosed
    | PersonErased
    | CategoryErased,
    Field(discriminator="type"),
]


class IntakeEnvelope(Envelope[IntakeEvent]):
    """An event of the intake topic in its envelope."""


def _person_registered_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "date_of_birth_precision": BirthDatePrecision.DAY.value}


def _residence_status_recorded_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "ausbildung": None}


intake_codec: Final = TopicCodec(
    TypeAdapter(IntakeEnvelope),
    EVENT_TYPES,
    {
        ("intake.person_registered", 1): _person_registered_v1_to_v2,
        ("intake.residence_status_recorded", 1): _residence_status_recorded_v1_to_v2,
    },
)
