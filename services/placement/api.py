"""Placement's HTTP API: commands in, 201/409/422 out."""

from __future__ import annotations

from fastapi import APIRouter

from services.chassis.commandapi import add_case_commands, executor
from services.placement.commands import (
    DecideBaConsent,
    DecidePermission,
    EndMeasure,
    EndPlacement,
    MakeProposal,
    ReceiveOpening,
    RecordFollowUp,
    RequestWorkPermission,
    StartMeasure,
    StartPlacement,
)
from services.placement.handlers import handle

router = APIRouter()
# The residence facts and the Jugendberufsagentur route arrive from intake's topic only.
add_case_commands(
    router,
    executor(handle, "placement"),
    (
        ("work-permission-requests", RequestWorkPermission),
        ("ba-consent-decisions", DecideBaConsent),
        ("permission-decisions", DecidePermission),
        ("measures", StartMeasure),
        ("measure-ends", EndMeasure),
        ("openings", ReceiveOpening),
        ("proposals", MakeProposal),
        ("placements", StartPlacement),
        ("placement-ends", EndPlacement),
        ("follow-ups", RecordFollowUp),
    ),
)
