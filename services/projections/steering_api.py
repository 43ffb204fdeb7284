"""The steering view's read API: the monthly figures, as JSON and as CSV, and the months.

Every request carries a signed token in the role ``steering`` of one of the network's
agencies (``agency_api.refusal``); a refusal is 403 and, like every read, goes to the access
log. The figures are computed from the view's case records when asked for, with the
versioned definitions of ``steering.FIGURES``; cells of fewer than five persons are
suppressed (``suppressed: true``, no value, no person count).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Final
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from contracts.common import Site
from services.projections import steering
from services.projections.agency_api import Pool, Read, Token, authorize, record_access
from services.projections.steering_view import load_record

router = APIRouter()

MONTH_PATTERN: Final = r"^[0-9]{4}-(0[1-9]|1[0-2])$"
Month = Annotated[str, Query(pattern=MONTH_PATTERN, description="the month, YYYY-MM")]
GUARDED: Final[dict[int | str, dict[str, Any]]] = {
    401: {"description": "no valid token"},
    403: {"description": "refused, logged"},
}


class Definition(BaseModel):
    """One figure's versioned definition."""

    figure: str
    version: str  # "<figure>@<revision>": a changed definition is a new revision
    aggregate: steering.Aggregate
    description: str


class Row(BaseModel):
    """One figure in one cell; a suppressed cell has neither value nor person count."""

    figure: str
    version: str
    site: Site
    rechtskreis: steering.Rechtskreis
    age_band: steering.AgeBand
    value: float | None
    persons: int | None
    suppressed: bool


class Figures(BaseModel):
    """A month's figures in every cell (site x Rechtskreis x age band), in definition order."""

    month: str
    min_cell_persons: int
    definitions: list[Definition]
    rows: list[Row]


class Months(BaseModel):
    """The months in which something happened in a case, oldest first."""

    months: list[str]


async def _records(
    pool: Pool,
) -> tuple[list[steering.CaseRecord], dict[UUID, steering.AgeFacts]]:
    rows = await pool.fetch("SELECT record::text, turns_25_on, age_known_until FROM steering_cases")
    records = [load_record(row["record"]) for row in rows]
    ages = {
        record.case_id: steering.AgeFacts(row["turns_25_on"], row["age_known_until"] or date.max)
        for record, row in zip(records, rows, strict=True)
        if row["turns_25_on"] is not None
    }
    return records, ages


async def _figure_rows(
    request: Request, pool: Pool, claims: Token, month: str
) -> list[steering.FigureRow]:
    await authorize(pool, request, claims, Read.FIGURES)
    records, ages = await _records(pool)
    rows = steering.figures_of(records, month, ages)
    await record_access(pool, request, claims, granted=True)
    return rows


@router.get("/figures", response_model=Figures, responses=GUARDED)
async def figures(request: Request, pool: Pool, claims: Token, month: Month) -> Figures:
    """Every figure of the month in every cell, with the definitions' versions."""
    rows = await _figure_rows(request, pool, claims, month)
    return Figures(
        month=month,
        min_cell_persons=steering.MIN_CELL_PERSONS,
        definitions=[
            Definition(
                figure=f.key, version=f.version, aggregate=f.aggregate, description=f.description
            )
            for f in steering.FIGURES
        ],
        rows=[Row.model_validate(r, from_attributes=True) for r in rows],
    )


@router.get(
    "/figures.csv",
    responses={**GUARDED, 200: {"content": {"text/csv": {}}, "description": "the CSV export"}},
)
async def figures_csv(request: Request, pool: Pool, claims: Token, month: Month) -> Response:
    """The month's figures as a CSV download (suppressed cells: empty value and persons)."""
    rows = await _figure_rows(request, pool, claims, month)
    return Response(
        steering.to_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="steering-{month}.csv"'},
    )


@router.get("/months", response_model=Months, responses=GUARDED)
async def months(request: Request, pool: Pool, claims: Token) -> Months:
    """The months with data, for choosing one."""
    await authorize(pool, request, claims, Read.FIGURES)
    records, _ = await _records(pool)
    await record_access(pool, request, claims, granted=True)
    return Months(months=steering.months_with_data(records))
