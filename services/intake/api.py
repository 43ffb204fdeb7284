"""Intake's HTTP API: commands in, 201/409/422 out; person keys for authenticated readers."""

from __future__ import annotations

import base64
from typing import Annotated
from uuid import UUID

import structlog
from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel

from services.chassis.bearer import reader_responses
from services.chassis.commandapi import (
    FORBIDDEN,
    UNAUTHENTICATED,
    ActingPrincipal,
    acting_agency,
    add_case_commands,
    add_command,
    executor,
)
from services.chassis.identity import JwksVerifier
from services.chassis.oidc import require_client
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
from services.intake.handlers import IntakePorts, handle, rotate_key

log = structlog.get_logger("intake.api")
router = APIRouter()


def ports(request: Request) -> IntakePorts:
    wired: IntakePorts = request.app.state.intake
    return wired


execute = executor(handle, "intake")
add_command(router, "/cases", RegisterPerson, execute, opens_case=True)
add_case_commands(
    router,
    execute,
    (
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
    ),
)


class PersonKeyOut(BaseModel):
    case_id: UUID
    key_id: str
    secret: str


class RotatedKey(BaseModel):
    """The id of the person's new current key (never its secret)."""

    case_id: UUID
    key_id: str


@router.post(
    "/cases/{case_id}/key-rotation",
    response_model=RotatedKey,
    status_code=status.HTTP_201_CREATED,
    responses={
        **UNAUTHENTICATED,
        **FORBIDDEN,
        404: {"description": "unknown case"},
        409: {"description": "erased case, or not the responsible agency"},
    },
)
async def key_rotation(
    case_id: UUID, wired: Annotated[IntakePorts, Depends(ports)], principal: ActingPrincipal
) -> RotatedKey:
    """Rotate the person's data key: new events are sealed with a new key, published ones
    keep theirs (nothing is re-encrypted)."""
    agency = acting_agency(principal)
    key = await rotate_key(case_id, agency, wired)
    log.info("person_key.rotated", case_id=str(case_id), key_id=key.key_id, agency=agency.value)
    return RotatedKey(case_id=case_id, key_id=key.key_id)


def _identity(request: Request) -> JwksVerifier:
    verifying: JwksVerifier | None = request.app.state.identity
    if verifying is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "no identity provider configured (IP_OIDC_ISSUER)"
        )
    return verifying


def _key_clients(request: Request) -> frozenset[str]:
    clients: frozenset[str] = request.app.state.intake.key_clients
    return clients


@router.get(
    "/internal/person-keys/{case_id}",
    response_model=PersonKeyOut,
    responses=reader_responses("no key for this case (unknown or erased)"),
)
async def person_key(
    case_id: UUID,
    wired: Annotated[IntakePorts, Depends(ports)],
    reader: Annotated[str, Depends(require_client(_identity, _key_clients))],
    key_id: Annotated[
        str | None, Query(max_length=64, description="a retired key by its id; none: the current")
    ] = None,
) -> PersonKeyOut:
    """A person's data key, for a client of the provider named in intake's settings (its
    client-credentials access token); the access is logged under the client's id."""
    key = await wired.keys.lookup_for_reader(reader, case_id, key_id)
    log.info(
        "person_key.requested",
        reader=reader,
        case_id=str(case_id),
        key_id=key_id,
        granted=key is not None,
    )
    if key is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no key for this case (unknown or erased)")
    return PersonKeyOut(
        case_id=case_id, key_id=key.key_id, secret=base64.b64encode(key.secret).decode()
    )
