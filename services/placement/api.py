"""Placement's HTTP API: commands in, 201/409/422 out."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request

from services.chassis.commandapi import add_command
from services.chassis.eventstore import AppendResult, CommandContext
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
from services.placement.handlers import PlacementPorts, handle

router = APIRouter()


async def execute(
    request: Request, case_id: UUID, command: Any, context: CommandContext
) -> AppendResult:
    ports: PlacementPorts = request.app.state.placement
    return await handle(case_id, command, context, ports)


# The residence facts and the Jugendberufsagentur route arrive from intake's topic only.
for path, command_type in (
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
):
    add_command(router, f"/cases/{{case_id}}/{path}", command_type, execute)
