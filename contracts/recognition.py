"""Events of recognition's procedure stream, topic ``ip.recognition.procedure.v1`` (key: case id).

Recognition (Anerkennung) of foreign professional qualifications: counselling, the German
reference occupation (Referenzberuf), the competent authority, the application and its
Bescheid (full, partial with the missing competences, none, or refused for lack of
cooperation), the ZAB statement for university degrees, protected titles, and the
adaptation qualification (Anpassungsqualifizierung) that closes the gaps. A person may have
several procedures, each named by its ``procedure_id``; competence assessments belong to the
case, not to a procedure.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Final, Literal, Self
from uuid import UUID

from pydantic import Field, TypeAdapter, model_validator

from contracts.codec import TopicCodec
from contracts.common import CountryCode, EventPayload, KldbCode, ShortText
from contracts.envelope import Envelope

TOPIC: Final = "ip.recognition.procedure.v1"


class QualificationKind(StrEnum):
    BERUFSABSCHLUSS = "berufsabschluss"  # vocational qualification
    HOCHSCHULABSCHLUSS = "hochschulabschluss"  # university degree


class Beratungsstelle(StrEnum):
    """Who held the recognition counselling."""

    IQ_BERATUNG = "iq_beratung"  # IQ Netzwerk NRW Anerkennungsberatung
    KAMMER = "kammer"  # a chamber's own recognition counselling
    MIGRATIONSBERATUNG = "migrationsberatung"  # Migrationsberatung für Erwachsene
    INTEGRATION_POINT = "integration_point"


class Berufsbereich(StrEnum):
    """Which law governs the Referenzberuf, and so which body is competent for it."""

    INDUSTRIE_HANDEL = "industrie_handel"  # BBiG occupations of the IHKs
    HANDWERK = "handwerk"  # occupations of the Handwerksordnung
    LANDESRECHT = "landesrecht"  # regulated by NRW law (e.g. Erzieher)
    AKADEMISCH = "akademisch"  # occupations that need a university degree


class CompetentAuthority(StrEnum):
    """The body that decides (zuständige Stelle)."""

    IHK_FOSA = "ihk_fosa"  # IHK FOSA, Nürnberg: for all IHK occupations
    HWK_DUESSELDORF = "hwk_duesseldorf"
    BEZIRKSREGIERUNG_DUESSELDORF = "bezirksregierung_duesseldorf"
    ZAB = "zab"  # Zentralstelle für ausländisches Bildungswesen: Zeugnisbewertung


class DecisionOutcome(StrEnum):
    VOLLE_GLEICHWERTIGKEIT = "volle_gleichwertigkeit"
    TEILWEISE_GLEICHWERTIGKEIT = "teilweise_gleichwertigkeit"
    KEINE_GLEICHWERTIGKEIT = "keine_gleichwertigkeit"
    ABGELEHNT_MANGELNDE_MITWIRKUNG = "abgelehnt_mangelnde_mitwirkung"


class Rechtsgrundlage(StrEnum):
    """The law a Bescheid was issued under."""

    BQFG = "bqfg"  # Berufsqualifikationsfeststellungsgesetz (Bund)
    BQFG_NRW = "bqfg_nrw"  # its NRW counterpart, for occupations under Land law
    FACHRECHT = "fachrecht"  # a sector law (e.g. Handwerksordnung, Ingenieurgesetz NRW)


class ProtectedTitle(StrEnum):
    INGENIEUR = "ingenieur"  # protected by the NRW engineers' law


class Kompetenzfeststellung(StrEnum):
    MYSKILLS = "myskills"  # the BA's computer-based test of occupational competences
    PERF = "perf"  # Perspektiven für Flüchtlinge: assessment at a workplace
    KARTENBASIERT = "kartenbasiert"  # card-based (picture cards) assessment


def check_missing_competences(
    outcome: DecisionOutcome, missing_competences: tuple[str, ...]
) -> None:
    """A partial recognition lists what is missing; no other outcome does."""
    partial = outcome is DecisionOutcome.TEILWEISE_GLEICHWERTIGKEIT
    if partial and not missing_competences:
        raise ValueError("a partial recognition must list the missing competences")
    if not partial and missing_competences:
        raise ValueError(f"only a partial recognition lists missing competences, not {outcome}")


class CounsellingHeld(EventPayload):
    """Recognition counselling for one qualification; opens the procedure."""

    type: Literal["recognition.counselling_held"] = "recognition.counselling_held"
    schema_version: Literal[1] = 1
    procedure_id: UUID
    qualification_kind: QualificationKind
    qualification_title: ShortText
    country: CountryCode = Field(description="where the qualification was obtained")
    counselled_by: Beratungsstelle
    held_on: date


class ReferenceOccupationSet(EventPayload):
    """The German reference occupation (Referenzberuf) the qualification is compared with."""

    type: Literal["recognition.reference_occupation_set"] = "recognition.reference_occupation_set"
    schema_version: Literal[1] = 1
    procedure_id: UUID
    kldb: KldbCode
    title: ShortText
    regulated: bool = Field(description="a regulated occupation needs recognition to practise")
    bereich: Berufsbereich


class CompetentAuthorityAssigned(EventPayload):
    type: Literal["recognition.competent_authority_assigned"] = (
        "recognition.competent_authority_assigned"
    )
    schema_version: Literal[1] = 1
    procedure_id: UUID
    authority: CompetentAuthority


class ApplicationSubmitted(EventPayload):
    type: Literal["recognition.application_submitted"] = "recognition.application_submitted"
    schema_version: Literal[1] = 1
    procedure_id: UUID
    authority: CompetentAuthority
    submitted_on: date


class DocumentsRequested(EventPayload):
    """The authority asked for further documents by a deadline (Mitwirkungspflicht)."""

    type: Literal["recognition.documents_requested"] = "recognition.documents_requested"
    schema_version: Literal[1] = 1
    procedure_id: UUID
    documents: tuple[ShortText, ...] = Field(min_length=1)
    requested_on: date
    due_on: date


class DecisionIssued(EventPayload):
    """The Bescheid; self-contained, so readers need no earlier event to use it.

    v2 added ``legal_basis``; v1 Bescheide were all issued under the BQFG.
    """

    type: Literal["recognition.decision_issued"] = "recognition.decision_issued"
    schema_version: Literal[2] = 2
    procedure_id: UUID
    authority: CompetentAuthority
    reference_occupation: KldbCode
    outcome: DecisionOutcome
    missing_competences: tuple[ShortText, ...] = ()
    legal_basis: Rechtsgrundlage
    decided_on: date

    @model_validator(mode="after")
    def _partial_lists_missing_competences(self) -> Self:
        check_missing_competences(self.outcome, self.missing_competences)
        return self


class ZabStatementIssued(EventPayload):
    """The ZAB's statement of comparability (Zeugnisbewertung) for a university degree."""

    type: Literal["recognition.zab_statement_issued"] = "recognition.zab_statement_issued"
    schema_version: Literal[1] = 1
    procedure_id: UUID
    comparable_to: ShortText = Field(description='e.g. "Bachelor Bauingenieurwesen"')
    issued_on: date


class ProtectedTitlePermitted(EventPayload):
    type: Literal["recognition.protected_title_permitted"] = "recognition.protected_title_permitted"
    schema_version: Literal[1] = 1
    procedure_id: UUID
    title: ProtectedTitle
    authority: CompetentAuthority
    granted_on: date


class AdaptationStarted(EventPayload):
    """An Anpassungsqualifizierung started to close the gaps of a partial recognition."""

    type: Literal["recognition.adaptation_started"] = "recognition.adaptation_started"
    schema_version: Literal[1] = 1
    procedure_id: UUID
    measure_id: UUID
    provider: ShortText = Field(description="the employer or course provider")
    started_on: date


class AdaptationCompleted(EventPayload):
    type: Literal["recognition.adaptation_completed"] = "recognition.adaptation_completed"
    schema_version: Literal[1] = 1
    procedure_id: UUID
    measure_id: UUID
    completed_on: date


class CompetenceAssessed(EventPayload):
    """A competence assessment of the person, independent of any procedure."""

    type: Literal["recognition.competence_assessed"] = "recognition.competence_assessed"
    schema_version: Literal[1] = 1
    assessment_id: UUID
    method: Kompetenzfeststellung
    occupation: KldbCode
    result_summary: ShortText
    assessed_on: date


EVENT_TYPES: Final = (
    CounsellingHeld,
    ReferenceOccupationSet,
    CompetentAuthorityAssigned,
    ApplicationSubmitted,
    DocumentsRequested,
    DecisionIssued,
    ZabStatementIssued,
    ProtectedTitlePermitted,
    AdaptationStarted,
    AdaptationCompleted,
    CompetenceAssessed,
)

RecognitionEvent = Annotated[
    CounsellingHeld
    | ReferenceOccupationSet
    | CompetentAuthorityAssigned
    | ApplicationSubmitted
    | DocumentsRequested
    | DecisionIssued
    | ZabStatementIssued
    | ProtectedTitlePermitted
    | AdaptationStarted
    | AdaptationCompleted
    | CompetenceAssessed,
    Field(discriminator="type"),
]


class RecognitionEnvelope(Envelope[RecognitionEvent]):
    """An event of the recognition topic in its envelope."""


def _decision_issued_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "legal_basis": Rechtsgrundlage.BQFG.value}


recognition_codec: Final = TopicCodec(
    TypeAdapter(RecognitionEnvelope),
    EVENT_TYPES,
    {("recognition.decision_issued", 1): _decision_issued_v1_to_v2},
)
