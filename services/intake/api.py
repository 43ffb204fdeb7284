"""Intake's HTTP API: commands in, 201/409/422 out; person keys for authenticated readers."""

from __future__ import annotations

import base64
import secrets
from typing import Annotated
from uuid import UUID

import structlog
from fastapi import APIRouter, Depends, Header, HTTPException, Request, Response, status
from pydantic import BaseModel

from contracts.envelope import Agency
from services.chassis.eventstore import AppendResult, CommandContext
from services.chassis.ids import uuid7
from services.intake.commands import (
    FirstContactDetails,
    IntakeCommand,
    PersonDetails,
    RecordFirstContact,
    RegisterPerson,
)
from services.intake.handlers import IntakePorts as Intake
from services.intake.handlers import handle

log = structlog.get_logger("intake.api")
router = APIRouter()

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=8,
        max_length=200,
        description="repeat a command safely: the same key applies it once",
    ),
]


class CommandAccepted(BaseModel):
    """The stream version a command produced (or produced earlier, when replayed)."""

    case_id: UUID
    version: int
    replayed: bool


class PersonKeyOut(BaseModel):
    case_id: UUID
    key_id: str
    secret: str


def intake(request: Request) -> Intake:
    wired: Intake = request.app.state.intake
    return wired


async def _run(
    wired: Intake, command: IntakeCommand, idempotency_key: str | None, response: Response
) -> CommandAccepted:
    context = CommandContext(
        idempotency_key=idempotency_key or str(uuid7()),
        agency=Agency.AA_MG,
        correlation_id=uuid7(),
    )
    with structlog.contextvars.bound_contextvars(case_id=str(command.case_id)):
        result: AppendResult = await handle(command, context, wired.store, wired.keys)

        log.info("command.handled", command=type(command).__name__, replayed=result.replayed)
    if result.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return CommandAccepted(
        case_id=result.stream_id, version=result.last_version, replayed=result.replayed
    )


@router.post("/cases", status_code=status.HTTP_201_CREATED, response_model=CommandAccepted)
async def register_person(
    details: PersonDetails,
    response: Response,
    wired: Annotated[Intake, Depends(intake)],
    idempotency_key: IdempotencyKey = None,
) -> CommandAccepted:
    """Register a person allocated to a town; the case id is minted here."""
    command = RegisterPerson(case_id=uuid7(), **details.model_dump())
    return await _run(wired, command, idempotency_key, response)


@router.post(
    "/cases/{case_id}/first-contact",
    status_code=status.HTTP_201_CREATED,
    response_model=CommandAccepted,
)
async def record_first_contact(
    case_id: UUID,
    details: FirstContactDetails,
    response: Response,
    wired: Annotated[Intake, Depends(intake)],
    idempotency_key: IdempotencyKey = None,
) -> CommandAccepted:
    """Record the first contact with a registered person."""
    command = RecordFirstContact(case_id=case_id, **details.model_dump())
    return await _run(wired, command, idempotency_key, response)


@router.get("/internal/person-keys/{case_id}", response_model=PersonKeyOut)
async def person_key(
    case_id: UUID,
    wired: Annotated[Intake, Depends(intake)],
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
