"""An agency view's read API: the cases it holds, a case's timeline, its disclosure log, and
the log of every read.

Every request carries an access token of the platform's OpenID Connect provider, verified
against its published keys (``services.chassis.oidc``), of the agency the view serves
(``TOKEN_AGENCY``), in a role that may make the read (``READ_ROLE``; the access log only for
``data_protection``). A token of another agency, a role that may not read, or a case
the view holds nothing of is refused with 403 and the refusal is logged; every read that is
granted is logged too, with the token's purpose: ``public.access_log`` of the view database,
the source of the person's access report (``python -m services.projections.access_report``).

Roles (the token's ``role`` claim):

- ``case_worker``: reads the caseload, timelines and disclosures of the Agentur, a Jobcenter
  or a partner (IQ, Jugendberufsagentur, course providers);
- ``abh_case_worker``, ``sozialamt_case_worker``: the same in an Ausländerbehörde or a
  Sozialamt view. The Stadt and the Kreis are one controller (one ``agency``) for both
  offices, so the role says which office's view the token opens;
- ``data_protection``: the controller's data protection officer: reads a case's disclosure
  log and the access log of the view (``GET /access-log``), never the timeline itself;
- ``steering``: a member of the steering round (MG coordination round, RKN steering
  conference) sent by one of the network's agencies: reads the steering view's aggregate
  figures (``services/projections/steering_api.py``), and nothing of any person.

A partner's token must name a purpose the partner pursues (``CONSENT_PURPOSES``): consents
open a partner's view for named purposes only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Final
from uuid import UUID

import asyncpg
import structlog
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request, status
from pydantic import BaseModel, Field

from contracts.envelope import Agency
from contracts.intake import Partner
from services.chassis.identity import JwksVerifier, Principal
from services.chassis.oidc import require_principal
from services.chassis.projection import DbConnection
from services.projections.purpose import CONSENT_PURPOSES, ViewId, ViewKind

log = structlog.get_logger("projection.access")

router = APIRouter()

NOT_VISIBLE: Final = "not visible to this agency"
NO_PURPOSE: Final = "unspecified"  # the access log's purpose of a token that names none
ADMINISTRATION: Final = "administration"  # a held event with no data category: the case's own


class Role(StrEnum):
    """The roles a view's readers act in (the token's ``role``)."""

    CASE_WORKER = "case_worker"
    ABH_CASE_WORKER = "abh_case_worker"
    SOZIALAMT_CASE_WORKER = "sozialamt_case_worker"
    DATA_PROTECTION = "data_protection"
    STEERING = "steering"


# The token ``agency`` each view accepts: the controller it serves (an Agency), or the
# partner's name. The Stadt and the Kreis each serve two views; READ_ROLE tells them apart.
TOKEN_AGENCY: Final[dict[ViewId, str | None]] = {
    ViewId.AA_MG: Agency.AA_MG.value,
    ViewId.JC_MG: Agency.JC_MG.value,
    ViewId.JC_RKN: Agency.JC_RKN.value,
    ViewId.ABH_MG: Agency.STADT_MG.value,
    ViewId.ABH_RKN: Agency.RKN.value,
    ViewId.SOZIALAMT_MG: Agency.STADT_MG.value,
    ViewId.SOZIALAMT_RKN: Agency.RKN.value,
    ViewId.PARTNER_IQ: Partner.IQ_COUNSELLING.value,
    ViewId.PARTNER_JBA: Partner.JUGENDBERUFSAGENTUR.value,
    ViewId.PARTNER_COURSE_PROVIDER: Partner.COURSE_PROVIDER.value,
    ViewId.STEERING: None,  # aggregates only: no reader of persons
}

# The role that reads cases in a view of each kind.
READ_ROLE: Final[dict[ViewKind, Role | None]] = {
    ViewKind.AGENTUR: Role.CASE_WORKER,
    ViewKind.JOBCENTER: Role.CASE_WORKER,
    ViewKind.AUSLAENDERBEHOERDE: Role.ABH_CASE_WORKER,
    ViewKind.SOZIALAMT: Role.SOZIALAMT_CASE_WORKER,
    ViewKind.PARTNER: Role.CASE_WORKER,
    ViewKind.STEERING: None,
}


class Read(StrEnum):
    """What a request reads."""

    CASES = "cases"  # the caseload (case ids)
    TIMELINE = "timeline"  # a case's personal data
    DISCLOSURES = "disclosures"  # a case's disclosure log
    ACCESS_LOG = "access_log"  # a case's access log
    FIGURES = "figures"  # the steering figures: aggregates, no person


def refusal(view: ViewId, claims: Principal, read: Read) -> str | None:
    """Why the token may not make this read in this view; ``None`` when it may."""
    if view.kind is ViewKind.STEERING:
        return _steering_refusal(claims, read)
    return _agency_refusal(view, claims, read)


def _agency_refusal(view: ViewId, claims: Principal, read: Read) -> str | None:
    agency = TOKEN_AGENCY[view]
    if agency is None:
        return f"the view {view.value} serves no reader of persons"
    if claims.agency != agency:
        return f"a token of {claims.agency}; this view serves {agency}"
    reader = READ_ROLE[view.kind]
    allowed = (
        set()
        if read is Read.FIGURES  # steering's alone
        else {Role.DATA_PROTECTION}
        if read is Read.ACCESS_LOG
        else {reader, Role.DATA_PROTECTION}
        if read is Read.DISCLOSURES
        else {reader}
    )
    if claims.role not in allowed:
        roles = ", ".join(sorted(r.value for r in allowed if r is not None))
        return f"the role {claims.role} may not read {read.value} here (roles: {roles})"
    if (
        view.kind is ViewKind.PARTNER
        and read in {Read.CASES, Read.TIMELINE}
        and claims.purpose not in CONSENT_PURPOSES[view]
    ):
        purposes = ", ".join(sorted(CONSENT_PURPOSES[view]))
        return f"the purpose {claims.purpose} is not one of this partner's ({purposes})"
    return None


def _steering_refusal(claims: Principal, read: Read) -> str | None:
    """Steering reads figures only, in the role ``steering``, sent by an agency of the
    network (the carriers of the coordination round and the steering conference)."""
    if read is not Read.FIGURES:
        return "the steering view serves no reader of persons"
    if claims.agency not in {agency.value for agency in Agency}:
        return f"a token of {claims.agency}; steering serves the network's agencies"
    if claims.role != Role.STEERING:
        return f"the role {claims.role} may not read figures here (roles: {Role.STEERING.value})"
    return None


@dataclass(frozen=True)
class ViewAccess:
    """Which view the app serves, and the verifier of its readers' access tokens."""

    view: ViewId
    verifier: JwksVerifier


def configure_access(app: FastAPI, view: ViewId, verifier: JwksVerifier) -> None:
    """Tell the routes which view they serve and how to verify its readers' tokens."""
    app.state.access = ViewAccess(view, verifier)


def _access(request: Request) -> ViewAccess:
    access: ViewAccess = request.app.state.access
    return access


def _verifier(request: Request) -> JwksVerifier:
    return _access(request).verifier


Token = Annotated[Principal, Depends(require_principal(_verifier))]


class HeldEvent(BaseModel):
    event_id: UUID
    type: str
    category: str | None
    occurred_at: datetime
    read_only: bool
    data: dict[str, Any]
    recorded_by: str | None = Field(default=None, description="the agency that recorded it")
    actor_role: str | None = Field(default=None, description="the role it was recorded in")
    actor_reference: str | None = Field(
        default=None,
        description="pseudonymous reference of the person who recorded it (never the name); "
        "none when a service recorded it in reaction to another event",
    )


class CaseTimeline(BaseModel):
    """What this view holds of one case, oldest first."""

    case_id: UUID
    events: list[HeldEvent]


class Disclosure(BaseModel):
    """One materialised disclosure: from whom, to which view, what, on which ground."""

    event_id: UUID
    case_id: UUID
    from_agency: str
    to_view: str
    category: str | None
    legal_basis: str | None
    consent_id: UUID | None
    disclosed_at: datetime


class AccessLogEntry(BaseModel):
    """One read of this view, granted or refused: who, what, when, for which purpose."""

    at: datetime
    view: str
    agency: str
    user_name: str
    role: str
    purpose: str
    method: str
    path: str
    case_id: UUID | None
    listed: bool  # the read was of the caseload, which showed the case's id
    categories: list[str]
    granted: bool
    reason: str | None


def view_pool(request: Request) -> asyncpg.Pool:
    """The active generation's pool, looked up per request: a rebuild may swap it."""
    pool: asyncpg.Pool = request.app.state.view.pool
    return pool


Pool = Annotated[asyncpg.Pool, Depends(view_pool)]
CaseLimit = Annotated[
    int, Query(ge=1, le=1000, description="at most this many cases, newest first")
]


async def record_access(
    conn: asyncpg.Pool | DbConnection,
    request: Request,
    claims: Principal,
    *,
    granted: bool,
    case_id: UUID | None = None,
    listed: Sequence[UUID] = (),
    categories: Sequence[str] = (),
    reason: str | None = None,
) -> None:
    await conn.execute(
        "INSERT INTO public.access_log (view, agency, user_name, role, purpose, method, path,"
        " case_id, listed, categories, granted, reason)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        _access(request).view.value,
        claims.agency,
        claims.user,
        claims.role,
        claims.purpose or NO_PURPOSE,
        request.method,
        request.url.path,
        case_id,
        list(listed),
        list(categories),
        granted,
        reason,
    )


async def _refuse(
    pool: asyncpg.Pool, request: Request, claims: Principal, reason: str, case_id: UUID | None
) -> HTTPException:
    await record_access(pool, request, claims, granted=False, case_id=case_id, reason=reason)
    log.warning(
        "access.refused",
        view=_access(request).view.value,
        agency=claims.agency,
        user=claims.user,
        role=claims.role,
        path=request.url.path,
        reason=reason,
    )
    return HTTPException(status.HTTP_403_FORBIDDEN, reason)


async def authorize(
    pool: asyncpg.Pool, request: Request, claims: Principal, read: Read, case_id: UUID | None = None
) -> None:
    reason = refusal(_access(request).view, claims, read)
    if reason is not None:
        raise await _refuse(pool, request, claims, reason, case_id)


@router.get(
    "/cases",
    response_model=list[UUID],
    responses={401: {"description": "no valid token"}, 403: {"description": "refused, logged"}},
)
async def list_cases(
    request: Request,
    pool: Pool,
    claims: Token,
    limit: CaseLimit = 200,
) -> list[UUID]:
    """The cases this view holds anything of, newest first (the read is logged with the ids
    it showed)."""
    await authorize(pool, request, claims, Read.CASES)
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            # Newest first: case ids are UUIDv7, ordered by the registration's time.
            "SELECT DISTINCT case_id FROM case_events ORDER BY case_id DESC LIMIT $1",
            limit,
        )
        ids = [row["case_id"] for row in rows]
        await record_access(conn, request, claims, granted=True, listed=ids)
    return ids


HELD_COLUMNS: Final = (
    "case_id, event_id, type, category, occurred_at, read_only, data::text,"
    " recorded_by, actor_role, actor_reference"
)


def _categories(rows: Sequence[asyncpg.Record]) -> list[str]:
    return sorted({r["category"] or ADMINISTRATION for r in rows})


def _timeline(case_id: UUID, rows: Sequence[asyncpg.Record]) -> CaseTimeline:
    events = [HeldEvent.model_validate({**dict(r), "data": json.loads(r["data"])}) for r in rows]
    return CaseTimeline(case_id=case_id, events=events)


@router.get(
    "/cases/{case_id}",
    response_model=CaseTimeline,
    responses={
        401: {"description": "no valid token"},
        403: {"description": "refused (also for a case this view holds nothing of), logged"},
    },
)
async def case_timeline(case_id: UUID, request: Request, pool: Pool, claims: Token) -> CaseTimeline:
    """A case's timeline as this view may see it; the read is logged with its purpose.

    A case the view holds nothing of is refused like any other (403 "not visible to this
    agency"), not 404: the view cannot tell whether the case exists elsewhere, and must not
    hint that it does."""
    await authorize(pool, request, claims, Read.TIMELINE, case_id)
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            f"SELECT {HELD_COLUMNS} FROM case_events"  # noqa: S608  # a constant column list
            " WHERE case_id = $1 ORDER BY occurred_at",
            case_id,
        )
        if rows:
            await record_access(
                conn, request, claims, granted=True, case_id=case_id, categories=_categories(rows)
            )
    if not rows:
        raise await _refuse(pool, request, claims, NOT_VISIBLE, case_id)
    return _timeline(case_id, rows)


@router.get(
    "/caseload",
    response_model=list[CaseTimeline],
    responses={401: {"description": "no valid token"}, 403: {"description": "refused, logged"}},
)
async def caseload_timelines(
    request: Request,
    pool: Pool,
    claims: Token,
    limit: CaseLimit = 200,
) -> list[CaseTimeline]:
    """The timelines of the newest cases this view holds, in one read: what a caseload page
    shows of each person. Logged as that many timeline reads (a row per case with its
    categories), so each person's access report lists it."""
    await authorize(pool, request, claims, Read.TIMELINE)
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            f"SELECT {HELD_COLUMNS} FROM case_events"  # noqa: S608  # a constant column list
            " WHERE case_id IN (SELECT DISTINCT case_id FROM case_events"
            " ORDER BY case_id DESC LIMIT $1) ORDER BY case_id DESC, occurred_at",
            limit,
        )
        by_case: dict[UUID, list[asyncpg.Record]] = {}
        for row in rows:
            by_case.setdefault(row["case_id"], []).append(row)
        for case_id, held in by_case.items():
            await record_access(
                conn, request, claims, granted=True, case_id=case_id, categories=_categories(held)
            )
    return [_timeline(case_id, held) for case_id, held in by_case.items()]


@router.get(
    "/disclosures",
    response_model=list[Disclosure],
    responses={401: {"description": "no valid token"}, 403: {"description": "refused, logged"}},
)
async def disclosures(
    request: Request, pool: Pool, claims: Token, case_id: UUID
) -> list[Disclosure]:
    """Every disclosure of a case's data into this view, with its legal basis or consent.

    A case the view holds nothing of is refused (403, logged as refused) like its timeline:
    an empty list would be a granted read of a case the view may not know of."""
    await authorize(pool, request, claims, Read.DISCLOSURES, case_id)
    async with pool.acquire() as conn, conn.transaction():
        held = await conn.fetchval("SELECT 1 FROM case_events WHERE case_id = $1 LIMIT 1", case_id)
        rows = []
        if held:
            rows = await conn.fetch(
                "SELECT * FROM public.disclosures WHERE case_id = $1"
                " ORDER BY disclosed_at, event_id",
                case_id,
            )
            await record_access(conn, request, claims, granted=True, case_id=case_id)
    if not held:
        raise await _refuse(pool, request, claims, NOT_VISIBLE, case_id)
    return [Disclosure.model_validate(dict(row)) for row in rows]


@router.get(
    "/access-log",
    response_model=list[AccessLogEntry],
    responses={
        401: {"description": "no valid token"},
        403: {"description": "not the view's data protection officer, logged"},
    },
)
async def access_log(
    request: Request, pool: Pool, claims: Token, case_id: UUID
) -> list[AccessLogEntry]:
    """Every read of this view that concerned the case, granted or refused, oldest first
    (role ``data_protection``; this read is logged too)."""
    await authorize(pool, request, claims, Read.ACCESS_LOG, case_id)
    async with pool.acquire() as conn, conn.transaction():
        rows = await conn.fetch(
            "SELECT at, view, agency, user_name, role, purpose, method, path, case_id,"
            " case_id IS DISTINCT FROM $1 AS listed, categories, granted, reason"
            " FROM public.access_log WHERE case_id = $1 OR $1 = ANY(listed) ORDER BY at, id",
            case_id,
        )
        await record_access(conn, request, claims, granted=True, case_id=case_id)
    return [AccessLogEntry.model_validate(dict(row)) for row in rows]
