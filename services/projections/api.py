"""The Agentur view's read API."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import BaseModel

from contracts.common import Site

router = APIRouter()


class CaseView(BaseModel):
    """One case as the Agentur sees it."""

    case_id: UUID
    given_name: str | None
    family_name: str | None
    date_of_birth: date | None
    nationality: str | None
    languages: list[str]
    site: Site | None
    town: str | None
    allocated_on: date | None
    first_contact_on: date | None
    interpreter_language: str | None
    days_allocation_to_first_contact: int | None
    version: int
    events_applied: int


def view_pool(request: Request) -> asyncpg.Pool:
    """The active generation's pool, looked up per request: a swap changes it."""
    pool: asyncpg.Pool = request.app.state.view.pool
    return pool


Pool = Annotated[asyncpg.Pool, Depends(view_pool)]

_COLUMNS = (
    "case_id, given_name, family_name, date_of_birth, nationality, languages, site, town,"
    " allocated_on, first_contact_on, interpreter_language, version, events_applied,"
    " first_contact_on - allocated_on AS days_allocation_to_first_contact"
)


@router.get("/cases/{case_id}", response_model=CaseView)
async def get_case(case_id: UUID, pool: Pool) -> CaseView:
    """A case and its days from allocation to first contact."""
    row = await pool.fetchrow(f"SELECT {_COLUMNS} FROM aa_mg_cases WHERE case_id = $1", case_id)  # noqa: S608  # constant column list
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no case {case_id} in this view")
    return CaseView.model_validate(dict(row))


@router.get("/cases", response_model=list[CaseView])
async def list_cases(
    pool: Pool,
    site: Site | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[CaseView]:
    """The caseload, newest allocation first, optionally for one site."""
    rows = await pool.fetch(
        f"SELECT {_COLUMNS} FROM aa_mg_cases WHERE ($1::text IS NULL OR site = $1)"  # noqa: S608  # constant column list
        " ORDER BY allocated_on DESC NULLS LAST, case_id LIMIT $2",
        site.value if site else None,
        limit,
    )
    return [CaseView.model_validate(dict(row)) for row in rows]
