"""Deciding on placements, their ends and the follow-up contacts after a start.

The permission rule: a placement starts only on a day work is possible at all, and, when
the person's status needs a Beschäftigungserlaubnis (everyone but § 25 (1)/(2) holders and
the Niederlassungserlaubnis), only under a granted permission for the same kind of job,
decided by the start date and valid on it. Training and EQ need the permission too; they
are merely free of the BA's consent. Assistierte Ausbildung for an asylum seeker needs good
prospects of staying (§ 132 SGB III).
"""

from __future__ import annotations

from uuid import UUID

from contracts.common import AA_DISTRICT_MG
from contracts.intake import ResidenceStatus
from contracts.placement import (
    FollowUpContactRecorded,
    JobType,
    PlacementEnded,
    PlacementEvent,
    PlacementKind,
    PlacementStarted,
    SkillLevel,
)
from services.chassis.rules import InvalidTransitionError
from services.placement.commands import EndPlacement, RecordFollowUp, StartPlacement
from services.placement.eligibility import assess, good_prospects
from services.placement.state import Placement, PlacementCase, known, residence_facts

_JOB_TYPE_OF_KIND = {
    PlacementKind.PRAKTIKUM: JobType.PRAKTIKUM,
    PlacementKind.EINSTIEGSQUALIFIZIERUNG: JobType.EINSTIEGSQUALIFIZIERUNG,
    PlacementKind.AUSBILDUNG: JobType.BERUFSAUSBILDUNG,
    PlacementKind.MINIJOB: JobType.MINIJOB,
}


def job_type_of(kind: PlacementKind, skill_level: SkillLevel | None) -> JobType:
    """The job type a work permission for this placement is asked for."""
    if kind is PlacementKind.BESCHAEFTIGUNG:
        return JobType.HELFER if skill_level is SkillLevel.HELFER else JobType.FACHKRAFT
    return _JOB_TYPE_OF_KIND[kind]


def start_placement(case: PlacementCase | None, command: StartPlacement) -> list[PlacementEvent]:
    facts = residence_facts(case)
    case = known(case)
    if command.placement_id in case.placements:
        raise InvalidTransitionError(
            "placement.id_taken", f"placement {command.placement_id} exists"
        )
    if command.proposal_id is not None and command.proposal_id not in case.proposals:
        raise InvalidTransitionError(
            "placement.needs_proposal", f"no proposal {command.proposal_id}"
        )
    job_type = job_type_of(command.kind, command.skill_level)
    # Only the barriers and the need for a permission matter here; no district changes them.
    assessment = assess(facts, job_type, command.started_on, AA_DISTRICT_MG)
    assessment.refuse_if_barred()
    if assessment.permission_needed:
        _require_permission(case, command, job_type)
    if (
        command.with_assistierte_ausbildung
        and facts.status is ResidenceStatus.AUFENTHALTSGESTATTUNG
        and not good_prospects(facts, command.started_on)
    ):
        raise InvalidTransitionError(
            "placement.assistierte_ausbildung_needs_bleibeperspektive",
            f"{facts.nationality} is not on the Bleibeperspektive list on {command.started_on}",
        )
    return [PlacementStarted(**command.model_dump())]


def _require_permission(case: PlacementCase, command: StartPlacement, job_type: JobType) -> None:
    request_id = command.work_permission_request_id
    request = case.requests.get(request_id) if request_id is not None else None
    permission = request.permission if request is not None else None
    if request is None or permission is None or not permission.granted:
        raise InvalidTransitionError(
            "placement.needs_work_permission",
            "this status needs a granted Beschäftigungserlaubnis; name its request",
        )
    if request.requested.job_type is not job_type:
        raise InvalidTransitionError(
            "placement.permission_for_other_job",
            f"the permission is for {request.requested.job_type}, this is {job_type}",
        )
    if permission.decided_on > command.started_on or (
        permission.valid_until is not None and permission.valid_until < command.started_on
    ):
        raise InvalidTransitionError(
            "placement.permission_not_covering_start",
            f"granted on {permission.decided_on} until {permission.valid_until}, "
            f"start on {command.started_on}",
        )


def end_placement(case: PlacementCase | None, command: EndPlacement) -> list[PlacementEvent]:
    placement = _placement(case, command.placement_id)
    if placement.ended_on is not None:
        raise InvalidTransitionError("placement.already_ended", f"ended on {placement.ended_on}")
    if command.ended_on < placement.started.started_on:
        raise InvalidTransitionError(
            "placement.end_before_start", f"it started on {placement.started.started_on}"
        )
    return [
        PlacementEnded(
            placement_id=command.placement_id, ended_on=command.ended_on, reason=command.reason
        )
    ]


def record_follow_up(case: PlacementCase | None, command: RecordFollowUp) -> list[PlacementEvent]:
    placement = _placement(case, command.placement_id)
    if command.contacted_on < placement.started.started_on:
        raise InvalidTransitionError(
            "follow_up.before_start", f"the placement started on {placement.started.started_on}"
        )
    ended_on = placement.ended_on
    if command.still_in_post and ended_on is not None and ended_on < command.contacted_on:
        raise InvalidTransitionError(
            "follow_up.still_in_post_after_end", f"the placement ended on {ended_on}"
        )
    return [
        FollowUpContactRecorded(
            placement_id=command.placement_id,
            contacted_on=command.contacted_on,
            still_in_post=command.still_in_post,
        )
    ]


def _placement(case: PlacementCase | None, placement_id: UUID) -> Placement:
    placement = known(case).placements.get(placement_id)
    if placement is None:
        raise InvalidTransitionError("placement.unknown", f"no placement {placement_id}")
    return placement
