"""The enrolment rules: start, monthly attendance, exams, end (pure).

Each accepted command is recorded as given: its event has the command's fields.
"""

from __future__ import annotations

from uuid import UUID

from contracts.language import (
    AttendanceRecorded,
    CourseType,
    EnrolmentEnded,
    EnrolmentOutcome,
    EnrolmentStarted,
    ExamTaken,
)
from services.chassis.rules import InvalidTransitionError
from services.language.commands import EndEnrolment, RecordAttendance, RecordExam, StartEnrolment
from services.language.policy import BERUFSSPRACHKURS_ENTRY, basismodul_entry_level
from services.language.state import Enrolment, Entitlement, LanguagePath


def start(path: LanguagePath, command: StartEnrolment) -> EnrolmentStarted:
    if command.enrolment_id in path.enrolments:
        raise InvalidTransitionError(
            "enrolment.already_started", f"enrolment {command.enrolment_id} exists already"
        )
    entitlement = path.entitlements.get(command.entitlement_id)
    if entitlement is None:
        raise InvalidTransitionError(
            "enrolment.needs_entitlement", f"no entitlement {command.entitlement_id}"
        )
    if entitlement.enrolment_id is not None:
        raise InvalidTransitionError(
            "enrolment.entitlement_used",
            f"entitlement carries enrolment {entitlement.enrolment_id} already",
        )
    if command.started_on < entitlement.issued_on:
        raise InvalidTransitionError(
            "enrolment.not_before_entitlement",
            f"start on {command.started_on} precedes the entitlement of {entitlement.issued_on}",
        )
    _one_at_a_time(path, command)
    _level_suffices(path, entitlement)
    return EnrolmentStarted.model_validate(command.model_dump())


def _one_at_a_time(path: LanguagePath, command: StartEnrolment) -> None:
    running = path.running_enrolment()
    if running is not None:
        raise InvalidTransitionError(
            "enrolment.one_at_a_time", f"enrolment {running.enrolment_id} is still running"
        )
    latest = path.enrolments.get(path.latest_enrolment) if path.latest_enrolment else None
    if latest is not None and latest.ended_on is not None and command.started_on < latest.ended_on:
        raise InvalidTransitionError(
            "enrolment.one_at_a_time",
            f"start on {command.started_on} precedes the end of the last one, {latest.ended_on}",
        )


def _level_suffices(path: LanguagePath, entitlement: Entitlement) -> None:
    if not entitlement.course_type.is_berufssprachkurs:
        return
    if not (path.reached(BERUFSSPRACHKURS_ENTRY) or path.completed_integrationskurs()):
        raise InvalidTransitionError(
            "enrolment.berufssprachkurs_needs_b1",
            f"level {path.level or 'unknown'} and no completed Integrationskurs",
        )
    target = entitlement.target_level
    if entitlement.course_type is CourseType.BERUFSSPRACHKURS_BASIS and target is not None:
        needed = basismodul_entry_level(target)
        if not path.reached(needed):
            raise InvalidTransitionError(
                "enrolment.basismodul_entry_level",
                f"a Basismodul to {target} starts from {needed}; level {path.level or 'unknown'}",
            )


def _enrolment(path: LanguagePath, enrolment_id: UUID) -> Enrolment:
    enrolment = path.enrolments.get(enrolment_id)
    if enrolment is None:
        raise InvalidTransitionError("enrolment.unknown", f"no enrolment {enrolment_id}")
    return enrolment


def record_attendance(path: LanguagePath, command: RecordAttendance) -> AttendanceRecorded:
    enrolment = _enrolment(path, command.enrolment_id)
    if not enrolment.running:
        raise InvalidTransitionError(
            "attendance.enrolment_not_running", f"the enrolment ended on {enrolment.ended_on}"
        )
    if command.month < enrolment.start_month:
        raise InvalidTransitionError(
            "attendance.not_before_start",
            f"{command.month} precedes the start month {enrolment.start_month}",
        )
    if command.month in enrolment.attended_months:
        raise InvalidTransitionError(
            "attendance.one_per_month", f"attendance of {command.month} is recorded already"
        )
    return AttendanceRecorded.model_validate(command.model_dump())


def record_exam(path: LanguagePath, command: RecordExam) -> ExamTaken:
    """An exam belongs to the running enrolment, or to the one just completed."""
    enrolment = _enrolment(path, command.enrolment_id)
    if enrolment.outcome is EnrolmentOutcome.DROPPED:
        raise InvalidTransitionError("exam.enrolment_dropped", "the enrolment was dropped")
    if path.latest_enrolment != enrolment.enrolment_id:
        raise InvalidTransitionError(
            "exam.enrolment_superseded", "a later enrolment has started since"
        )
    if command.taken_on < enrolment.started_on:
        raise InvalidTransitionError(
            "exam.not_before_start",
            f"exam on {command.taken_on} precedes the start on {enrolment.started_on}",
        )
    return ExamTaken.model_validate(command.model_dump())


def end(path: LanguagePath, command: EndEnrolment) -> EnrolmentEnded:
    enrolment = _enrolment(path, command.enrolment_id)
    if not enrolment.running:
        raise InvalidTransitionError(
            "enrolment.already_ended", f"the enrolment ended on {enrolment.ended_on}"
        )
    if command.ended_on < enrolment.started_on:
        raise InvalidTransitionError(
            "enrolment.not_ended_before_start",
            f"end on {command.ended_on} precedes the start on {enrolment.started_on}",
        )
    return EnrolmentEnded.model_validate(command.model_dump())
