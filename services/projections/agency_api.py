"""An agency view's read API: the cases it holds, a case's timeline, its disclosure log."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel

router = APIRouter()


class HeldEvent(BaseModel):
    event_id: UUID
    type: str
    category: str | None
    occurred_at: datetime
    read_only: bool
    data: dict[str, Any]


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


def view_pool(request: Request) -> asyncpg.Pool:
    """The active generation's pool, looked up per request: a rebuild may swap it."""
    pool: asyncpg.Pool = request.app.state.view.pool
    return pool


Pool = Annotated[asyncpg.Pool, Depends(view_pool)]


@router.get("/cases", response_model=list[UUID])
async def list_cases(pool: Pool, limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[UUID]:
    """The cases this view holds anything of."""
    rows = await pool.fetch(
        "SELECT DISTINCT case_id FROM case_events ORDER BY case_id LIMIT $1", limit
    )
    return [row["case_id"] for row in rows]


@router.get("/cases/{case_id}", response_model=CaseTimeline)
async def case_timeline(case_id: UUID, pool: Pool) -> CaseTimeline:
    """A case's timeline as this view may see it."""
    rows = await pool.fetch(
        "SELECT event_id, type, category, occurred_at, read_only, data::text FROM case_events"
        " WHERE case_id = $1 ORDER BY occurred_at",
        case_id,
    )
    if not rows:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"this view holds nothing of {case_id}")
    events = [HeldEvent.model_validate({**dict(r), "data": json.loads(r["data"])}) for r in rows]
    return CaseTimeline(case_id=case_id, events=events)


@router.get("/disclosures", response_model=list[Disclosure])
async def disclosures(pool: Pool, case_id: UUID) -> list[Disclosure]:
    """Every disclosure of a case's data into this view, with its legal basis or consent."""
    rows = await pool.fetch(
        "SELECT * FROM disclosures WHERE case_id = $1 ORDER BY disclosed_at, event_id", case_id
    )
    return [Disclosure.model_validate(dict(row)) for row in rows]
