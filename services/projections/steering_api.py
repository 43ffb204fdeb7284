"""The steering view's read API: the monthly figures, as JSON and as CSV, and the months.

Every request carries a signed token in the role ``steering`` of one of the network's
agencies (``agency_api.refusal``); a refusal is 403 and, like every read, goes to the access
log. The figures are computed from the view's case records when asked for, with the
versioned definitions of ``steering.FIGURES``, per cell and per total of the two steering
rounds (``steering_totals``: Integration Points, Jobcenters, sites). Cells and totals of fewer
than five persons are suppressed (``suppressed: true``, no value, no person count), and so are
further cells or totals wherever a suppressed one could be worked out from the rest.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Final
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from contracts.common import Site
from services.projections import steering, steering_totals
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


class Total(BaseModel):
    """One figure in one total: an Integration Point (IP-MG, IP-RKN) or site (NE, GV), of one
    Rechtskreis or both (null), of one age band or all (null); IP x SGB II is the Jobcenter."""

    figure: str
    version: str
    area: steering_totals.Area
    rechtskreis: steering.Rechtskreis | None
    age_band: steering.AgeBand | None
    label: str
    value: float | None
    persons: int | None
    suppressed: bool


class Figures(BaseModel):
    """A month's figures in every cell (site x Rechtskreis x age band) and every total, in
    definition order."""

    month: str
    min_cell_persons: int
    definitions: list[Definition]
    rows: list[Row]
    totals: list[Total]


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


async def _published(
    request: Request, pool: Pool, claims: Token, month: str
) -> steering_totals.Publication:
    await authorize(pool, request, claims, Read.FIGURES)
    records, ages = await _records(pool)
    publication = steering_totals.publish(records, month, ages)
    await record_access(pool, request, claims, granted=True)
    return publication


@router.get("/figures", response_model=Figures, responses=GUARDED)
async def figures(request: Request, pool: Pool, claims: Token, month: Month) -> Figures:
    """Every figure of the month in every cell and total, with the definitions' versions."""
    published = await _published(request, pool, claims, month)
    return Figures(
        month=month,
        min_cell_persons=steering.MIN_CELL_PERSONS,
        definitions=[
            Definition(
                figure=f.key, version=f.version, aggregate=f.aggregate, description=f.description
            )
            for f in steering.FIGURES
        ],
        rows=[Row.model_validate(r, from_attributes=True) for r in published.cells],
        totals=[Total.model_validate(t, from_attributes=True) for t in published.totals],
    )


@router.get(
    "/figures.csv",
    responses={**GUARDED, 200: {"content": {"text/csv": {}}, "description": "the CSV export"}},
)
async def figures_csv(request: Request, pool: Pool, claims: Token, month: Month) -> Response:
    """The month's figures, cells then totals, as a CSV download (suppressed: empty value and
    persons)."""
    published = await _published(request, pool, claims, month)
    return Response(
        steering_totals.to_csv(published.cells, published.totals),
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
