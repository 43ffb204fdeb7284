"""The language service's HTTP API: commands in, 201/409/422 out.

The hand-over's issuer change has no route: only the reaction to intake records it.
"""

from __future__ import annotations

from fastapi import APIRouter

from services.chassis.commandapi import add_case_commands, executor
from services.language.commands import (
    EndEnrolment,
    IssueEntitlement,
    RecordAttendance,
    RecordExam,
    RecordPlacementTest,
    StartEnrolment,
)
from services.language.handlers import handle

router = APIRouter()
add_case_commands(
    router,
    executor(handle, "language"),
    (
        ("entitlements", IssueEntitlement),
        ("placement-tests", RecordPlacementTest),
        ("enrolments", StartEnrolment),
        ("attendance", RecordAttendance),
        ("exams", RecordExam),
        ("enrolments/end", EndEnrolment),
    ),
)
