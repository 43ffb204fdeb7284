"""Intake's HTTP API: commands in, 201/409/422 out; person keys for authenticated readers."""

from __future__ import annotations

import base64
import secrets
from typing import Annotated, Any
from uuid import UUID

import structlog
from fastapi import APIRouter, Depends, Header, HTTPException, Request, status
from pydantic import BaseModel

from services.chassis.commandapi import add_command
from services.chassis.eventstore import AppendResult, CommandContext
from services.intake.commands import (
    AcceptHandOver,
    AssignInterpreter,
    CloseCase,
    ErasePerson,
    ExpireConsent,
    GiveConsent,
    ImposeWohnsitzauflage,
    LinkIdentifier,
    RecordAsylumDecision,
    RecordContact,
    RecordFirstContact,
    RecordInterpreterNoShow,
    RecordInterpreterSession,
    RecordProfile,
    RecordResidenceStatus,
    RecordSgbIIApplication,
    ReferToPartner,
    RegisterPerson,
    RejectHandOver,
    RequestHandOver,
    RequestInterpreter,
    WithdrawConsent,
)
from services.intake.handlers import IntakePorts, handle

log = structlog.get_logger("intake.api")
router = APIRouter()


def ports(request: Request) -> IntakePorts:
    wired: IntakePorts = request.app.state.intake
    return wired


async def execute(
    request: Request, case_id: UUID, command: Any, context: CommandContext
) -> AppendResult:
    return await handle(case_id, command, context, ports(request))


add_command(router, "/cases", RegisterPerson, execute, opens_case=True)
for path, command_type in (
    ("identifiers", LinkIdentifier),
    ("first-contact", RecordFirstContact),
    ("contacts", RecordContact),
    ("residence-status", RecordResidenceStatus),
    ("asylum-decision", RecordAsylumDecision),
    ("wohnsitzauflage", ImposeWohnsitzauflage),
    ("sgb2-application", RecordSgbIIApplication),
    ("consents", GiveConsent),
    ("consents/withdrawal", WithdrawConsent),
    ("consents/expiry", ExpireConsent),
    ("profile", RecordProfile),
    ("interpreter-requests", RequestInterpreter),
    ("interpreter-requests/assignment", AssignInterpreter),
    ("interpreter-requests/session", RecordInterpreterSession),
    ("interpreter-requests/no-show", RecordInterpreterNoShow),
    ("referrals", ReferToPartner),
    ("hand-overs", RequestHandOver),
    ("hand-overs/acceptance", AcceptHandOver),
    ("hand-overs/rejection", RejectHandOver),
    ("closing", CloseCase),
    ("erasure", ErasePerson),
):
    add_command(router, f"/cases/{{case_id}}/{path}", command_type, execute)


class PersonKeyOut(BaseModel):
    case_id: UUID
    key_id: str
    secret: str


@router.get("/internal/person-keys/{case_id}", response_model=PersonKeyOut)
async def person_key(
    case_id: UUID,
    wired: Annotated[IntakePorts, Depends(ports)],
    authorization: Annotated[str | None, Header()] = None,
) -> PersonKeyOut:
    """A person's data key, for a reader named in intake's settings (bearer token)."""
    reader = _authenticated_reader(wired.key_readers, authorization)
    key = await wired.keys.lookup_for_reader(reader, case_id)
    log.info("person_key.requested", reader=reader, case_id=str(case_id), granted=key is not None)
    if key is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no key for this case (unknown or erased)")
    return PersonKeyOut(
        case_id=case_id, key_id=key.key_id, secret=base64.b64encode(key.secret).decode()
    )


def _authenticated_reader(readers: dict[str, str], authorization: str | None) -> str:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "a bearer token is required",
            headers={"WWW-Authenticate": "Bearer"},
        )
    for reader, expected in readers.items():
        if secrets.compare_digest(token, expected):
            return reader
    raise HTTPException(status.HTTP_403_FORBIDDEN, "this token may not read person keys")
