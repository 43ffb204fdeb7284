"""Commands placement accepts: frozen models, validated at the boundary (422); rules that
need the case's state are the domain's (409)."""

from __future__ import annotations

from datetime import date
from typing import Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.common import AA_DISTRICT_MG, KldbCode, Site
from contracts.common import CountryCode as RecordedCountry
from contracts.intake import ResidenceStatus
from contracts.placement import (
    AaDistrict,
    JobType,
    MeasureKind,
    MeasureOutcome,
    PlacementEndReason,
    PlacementKind,
    SkillLevel,
)
from services.chassis.validation import FieldsError, PastDate, ShortText


class _Command(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


TRAINING: frozenset[PlacementKind] = frozenset(
    {PlacementKind.PRAKTIKUM, PlacementKind.EINSTIEGSQUALIFIZIERUNG, PlacementKind.AUSBILDUNG}
)


def _check_skill_level(kind: PlacementKind, skill_level: SkillLevel | None) -> None:
    if kind is PlacementKind.BESCHAEFTIGUNG and skill_level is None:
        raise FieldsError("a job (beschaeftigung) needs its skill_level", "skill_level")
    if kind in TRAINING and skill_level is not None:
        raise FieldsError(f"a {kind} has no skill_level", "skill_level")


# --- from intake's events (reactions only) --------------------------------------------------


class ResidenceDocument(_Command):
    """A residence document as intake recorded it; it replaces the one known before."""

    status: ResidenceStatus
    stay_since: date
    valid_until: date | None = None
    reception_centre_obligation: bool = False
    safe_country_of_origin: bool = False


class NoteResidenceFacts(_Command):
    """Note what an intake event said about the person; unset parts stay as they were."""

    source_event_id: UUID
    document: ResidenceDocument | None = None
    # As intake recorded it: a reaction must not refuse what an event already says.
    nationality: RecordedCountry | None = None
    site: Site | None = None
    protection_granted: bool | None = None


class NoteJugendberufsagenturRoute(_Command):
    """Note that the case went the Jugendberufsagentur route (hand-over of an under-25)."""

    source_event_id: UUID
    handover_id: UUID
    noted_on: date


# --- work permission ------------------------------------------------------------------------


class RequestWorkPermission(_Command):
    """Request a Beschäftigungserlaubnis for a job with an employer."""

    request_id: UUID
    employer: ShortText
    job_description: ShortText
    job_type: JobType
    start_date: date
    requested_on: PastDate
    workplace_district: AaDistrict = AA_DISTRICT_MG

    @model_validator(mode="after")
    def _starts_after_request(self) -> Self:
        if self.start_date < self.requested_on:
            raise FieldsError("start_date lies before requested_on", "start_date")
        return self


class DecideBaConsent(_Command):
    """Record the BA's answer on a request: granted, refused, or none (consent not needed)."""

    request_id: UUID
    granted: bool | None
    decided_on: PastDate


class DecidePermission(_Command):
    """Record the Ausländerbehörde's decision on a Beschäftigungserlaubnis."""

    request_id: UUID
    granted: bool
    valid_until: date | None = None
    restrictions: tuple[ShortText, ...] = Field(default=(), max_length=10)
    refusal_reason: ShortText | None = None
    decided_on: PastDate

    @model_validator(mode="after")
    def _grant_or_refusal(self) -> Self:
        if self.granted:
            if self.valid_until is None:
                raise FieldsError("a granted permission needs valid_until", "valid_until")
            if self.valid_until < self.decided_on:
                raise FieldsError("valid_until lies before decided_on", "valid_until")
            if self.refusal_reason is not None:
                raise FieldsError("a granted permission has no refusal_reason", "refusal_reason")
        elif self.refusal_reason is None or self.valid_until is not None or self.restrictions:
            wrong = [
                name
                for name, bad in (
                    ("refusal_reason", self.refusal_reason is None),
                    ("valid_until", self.valid_until is not None),
                    ("restrictions", bool(self.restrictions)),
                )
                if bad
            ]
            raise FieldsError(
                "a refusal has a refusal_reason, and no valid_until or restrictions", *wrong
            )
        return self


# --- measures, openings, proposals, placements ----------------------------------------------


class StartMeasure(_Command):
    """Start a measure (PerF, PerjuF, KompAS, ...) with its provider."""

    measure_id: UUID
    kind: MeasureKind
    provider: ShortText
    started_on: PastDate


class EndMeasure(_Command):
    """End a running measure with its outcome."""

    measure_id: UUID
    ended_on: PastDate
    outcome: MeasureOutcome


class ReceiveOpening(_Command):
    """Record an opening the employer service brought in for this person."""

    opening_id: UUID
    employer: ShortText
    kldb: KldbCode
    kind: PlacementKind
    skill_level: SkillLevel | None = None
    received_on: PastDate

    @model_validator(mode="after")
    def _skill_level_fits_kind(self) -> Self:
        _check_skill_level(self.kind, self.skill_level)
        return self


class MakeProposal(_Command):
    """Propose the person to the employer of a received opening."""

    proposal_id: UUID
    opening_id: UUID
    proposed_on: PastDate


class StartPlacement(_Command):
    """Record the start of an internship, EQ, apprenticeship, job or minijob."""

    placement_id: UUID
    kind: PlacementKind
    skill_level: SkillLevel | None = None
    employer: ShortText
    kldb: KldbCode | None = None
    started_on: PastDate
    with_assistierte_ausbildung: bool = False
    proposal_id: UUID | None = None
    work_permission_request_id: UUID | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        _check_skill_level(self.kind, self.skill_level)
        if self.with_assistierte_ausbildung and self.kind not in {
            PlacementKind.AUSBILDUNG,
            PlacementKind.EINSTIEGSQUALIFIZIERUNG,
        }:
            raise FieldsError(
                "Assistierte Ausbildung accompanies an ausbildung or an EQ only",
                "with_assistierte_ausbildung",
            )
        return self


class EndPlacement(_Command):
    """Record the end of a placement and why."""

    placement_id: UUID
    ended_on: PastDate
    reason: PlacementEndReason


class RecordFollowUp(_Command):
    """Record a follow-up contact after a start: is the person still in post?"""

    placement_id: UUID
    contacted_on: PastDate
    still_in_post: bool


PlacementCommand = (
    NoteResidenceFacts
    | NoteJugendberufsagenturRoute
    | RequestWorkPermission
    | DecideBaConsent
    | DecidePermission
    | StartMeasure
    | EndMeasure
    | ReceiveOpening
    | MakeProposal
    | StartPlacement
    | EndPlacement
    | RecordFollowUp
)
