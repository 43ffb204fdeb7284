"""Events of placement's case stream, topic ``ip.placement.case.v1`` (key: case id).

Placement's own copy of the residence facts it needs, the Jugendberufsagentur route,
work permission requests with the BA's consent and the Ausländerbehörde's decision (each
decision names the rule version it applied), measures, the employer service's openings and
proposals, placements and the follow-up contacts after a start.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Final, Literal
from uuid import UUID

from pydantic import Field, TypeAdapter

from contracts.codec import TopicCodec
from contracts.common import AA_DISTRICT_MG, CountryCode, EventPayload, KldbCode, ShortText, Site
from contracts.envelope import Envelope
from contracts.intake import ResidenceStatus

TOPIC: Final = "ip.placement.case.v1"

AaDistrict = Annotated[
    str, Field(pattern=r"^AA-[A-Z]{2,5}$", description="an Agentur für Arbeit district")
]
RuleVersion = Annotated[
    str, Field(min_length=1, max_length=40, description="the rule set a decision applied")
]


class JobType(StrEnum):
    """What a work permission is asked for; the BeschV treats these differently."""

    BERUFSAUSBILDUNG = "berufsausbildung"  # state-recognised vocational training
    PRAKTIKUM = "praktikum"  # internship under § 22 (1) MiLoG
    EINSTIEGSQUALIFIZIERUNG = "einstiegsqualifizierung"  # EQ, § 54a SGB III
    HELFER = "helfer"
    FACHKRAFT = "fachkraft"
    MINIJOB = "minijob"


class SkillLevel(StrEnum):
    """Anforderungsniveau of the KldB 2010 (fifth digit 1-4)."""

    HELFER = "helfer"
    FACHKRAFT = "fachkraft"
    SPEZIALIST = "spezialist"
    EXPERTE = "experte"


class PlacementKind(StrEnum):
    PRAKTIKUM = "praktikum"
    EINSTIEGSQUALIFIZIERUNG = "einstiegsqualifizierung"
    AUSBILDUNG = "ausbildung"
    BESCHAEFTIGUNG = "beschaeftigung"  # a job subject to social insurance
    MINIJOB = "minijob"


class MeasureKind(StrEnum):
    """Measures of the Agentur or Jobcenter (EQ and Assistierte Ausbildung are recorded on
    the placement they belong to, so steering counts them once)."""

    PERF = "perf"  # Perspektiven für Flüchtlinge (adults)
    PERJUF = "perjuf"  # Perspektiven für junge Flüchtlinge (under 25)
    KOMPAS = "kompas"  # Kompetenzfeststellung, frühzeitige Aktivierung und Spracherwerb
    BVB = "bvb"  # berufsvorbereitende Bildungsmaßnahme
    AUSBILDUNGSBEGLEITENDE_HILFEN = "ausbildungsbegleitende_hilfen"
    MAG = "mag"  # Maßnahme bei einem Arbeitgeber, § 45 SGB III


class MeasureOutcome(StrEnum):
    COMPLETED = "completed"
    DROPPED_OUT = "dropped_out"
    LEFT_FOR_PLACEMENT = "left_for_placement"


class PlacementEndReason(StrEnum):
    COMPLETED = "completed"  # internship, EQ or apprenticeship finished
    TAKEN_ON = "taken_on"  # continued with the same employer in another form
    CONTRACT_ENDED = "contract_ended"
    DISMISSED = "dismissed"
    RESIGNED = "resigned"


# --- residence facts and route ------------------------------------------------------------


class ResidenceFactsNoted(EventPayload):
    """Placement's snapshot of the residence facts its rules need, after merging what an
    intake event said into what placement knew; ``None`` means not known yet."""

    type: Literal["placement.residence_facts_noted"] = "placement.residence_facts_noted"
    schema_version: Literal[1] = 1
    status: ResidenceStatus | None = None
    stay_since: date | None = None
    valid_until: date | None = None
    reception_centre_obligation: bool = False
    safe_country_of_origin: bool = False
    nationality: CountryCode | None = None
    site: Site | None = None
    protection_granted: bool | None = None
    source_event_id: UUID = Field(description="the intake event this snapshot follows")


class JugendberufsagenturRouteNoted(EventPayload):
    """The case goes the Jugendberufsagentur route (under 25): youth measures open up."""

    type: Literal["placement.jugendberufsagentur_route_noted"] = (
        "placement.jugendberufsagentur_route_noted"
    )
    schema_version: Literal[1] = 1
    handover_id: UUID
    noted_on: date
    source_event_id: UUID


# --- work permission ------------------------------------------------------------------------


class WorkPermissionRequested(EventPayload):
    """A Beschäftigungserlaubnis was asked for a concrete job with a concrete employer."""

    type: Literal["placement.work_permission_requested"] = "placement.work_permission_requested"
    schema_version: Literal[1] = 1
    request_id: UUID
    employer: ShortText
    job_description: ShortText
    job_type: JobType
    start_date: date
    requested_on: date
    workplace_district: AaDistrict = Field(
        default=AA_DISTRICT_MG, description="AA district of the workplace (Vorrangprüfung)"
    )


class BaConsentDecided(EventPayload):
    """The Bundesagentur's answer to the Ausländerbehörde: consent needed or not, which
    checks it made, and its decision."""

    type: Literal["placement.ba_consent_decided"] = "placement.ba_consent_decided"
    schema_version: Literal[1] = 1
    request_id: UUID
    needed: bool
    vorrangpruefung: bool = Field(description="the priority check was applied")
    beschaeftigungsbedingungen_geprueft: bool = Field(
        description="the working conditions were checked against comparable Germans"
    )
    granted: bool | None = Field(description="None when no consent was needed")
    decided_on: date
    rule_version: RuleVersion


class PermissionDecided(EventPayload):
    """The Ausländerbehörde's decision on the Beschäftigungserlaubnis."""

    type: Literal["placement.permission_decided"] = "placement.permission_decided"
    schema_version: Literal[1] = 1
    request_id: UUID
    granted: bool
    valid_until: date | None = None
    restrictions: tuple[ShortText, ...] = ()
    refusal_reason: ShortText | None = None
    decided_on: date
    rule_version: RuleVersion


# --- measures, openings, proposals ----------------------------------------------------------


class MeasureStarted(EventPayload):
    type: Literal["placement.measure_started"] = "placement.measure_started"
    schema_version: Literal[1] = 1
    measure_id: UUID
    kind: MeasureKind
    provider: ShortText
    started_on: date


class MeasureEnded(EventPayload):
    type: Literal["placement.measure_ended"] = "placement.measure_ended"
    schema_version: Literal[1] = 1
    measure_id: UUID
    ended_on: date
    outcome: MeasureOutcome


class OpeningReceived(EventPayload):
    """The Arbeitgeber-Service brought an employer's opening in for this person."""

    type: Literal["placement.opening_received"] = "placement.opening_received"
    schema_version: Literal[1] = 1
    opening_id: UUID
    employer: ShortText
    kldb: KldbCode
    kind: PlacementKind
    skill_level: SkillLevel | None = None
    received_on: date


class ProposalMade(EventPayload):
    """The person was proposed to the employer of an opening (Vermittlungsvorschlag)."""

    type: Literal["placement.proposal_made"] = "placement.proposal_made"
    schema_version: Literal[1] = 1
    proposal_id: UUID
    opening_id: UUID
    proposed_on: date


# --- placements -----------------------------------------------------------------------------


class PlacementStarted(EventPayload):
    """The person started an internship, EQ, apprenticeship, job or minijob.

    v2 added ``kldb``, the occupation, so steering can count placements by occupation;
    v1 events read as occupation not recorded.
    """

    type: Literal["placement.placement_started"] = "placement.placement_started"
    schema_version: Literal[2] = 2
    placement_id: UUID
    kind: PlacementKind
    skill_level: SkillLevel | None = None
    employer: ShortText
    started_on: date
    with_assistierte_ausbildung: bool = False
    proposal_id: UUID | None = None
    work_permission_request_id: UUID | None = None
    kldb: KldbCode | None = None


class PlacementEnded(EventPayload):
    type: Literal["placement.placement_ended"] = "placement.placement_ended"
    schema_version: Literal[1] = 1
    placement_id: UUID
    ended_on: date
    reason: PlacementEndReason


class FollowUpContactRecorded(EventPayload):
    """A contact after a start: is the person still in post (6 and 12 months figures)."""

    type: Literal["placement.follow_up_contact_recorded"] = "placement.follow_up_contact_recorded"
    schema_version: Literal[1] = 1
    placement_id: UUID
    contacted_on: date
    still_in_post: bool


EVENT_TYPES: Final = (
    ResidenceFactsNoted,
    JugendberufsagenturRouteNoted,
    WorkPermissionRequested,
    BaConsentDecided,
    PermissionDecided,
    MeasureStarted,
    MeasureEnded,
    OpeningReceived,
    ProposalMade,
    PlacementStarted,
    PlacementEnded,
    FollowUpContactRecorded,
)

PlacementEvent = Annotated[
    ResidenceFactsNoted
    | JugendberufsagenturRouteNoted
    | WorkPermissionRequested
    | BaConsentDecided
    | PermissionDecided
    | MeasureStarted
    | MeasureEnded
    | OpeningReceived
    | ProposalMade
    | PlacementStarted
    | PlacementEnded
    | FollowUpContactRecorded,
    Field(discriminator="type"),
]


class PlacementEnvelope(Envelope[PlacementEvent]):
    """An event of the placement topic in its envelope."""


def _placement_started_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "kldb": None}


placement_codec: Final = TopicCodec(
    TypeAdapter(PlacementEnvelope),
    EVENT_TYPES,
    {("placement.placement_started", 1): _placement_started_v1_to_v2},
)
