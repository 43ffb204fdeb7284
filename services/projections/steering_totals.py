"""What steering publishes: the cells, the totals the two steering rounds look at, with
secondary suppression, and the CSV export.

Mönchengladbach's monthly coordination round and the Rhein-Kreis Neuss steering conference
each look at their Integration Point and their Jobcenter as a whole, beside the cells (site x
Rechtskreis x age band, ``steering.figures_of``). Per month and figure, the totals
(``MARGINS``) are, for each Integration Point (IP-MG = site MG; IP-RKN = sites NE + GV):

* the Integration Point as a whole (every Rechtskreis and age band);
* per Rechtskreis: SGB II is the Jobcenter (JC-MG, JC-RKN) as a whole, SGB III the Agentur's
  part of the Integration Point;
* per age band (unter 25 / 25 und älter): the under-25s are the Jugendberufsagentur's
  share;
* for IP-RKN also per site (NE, GV) and per site x Rechtskreis, the conference comparing its
  two sites (at MG site and Integration Point are the same, so these are the IP's totals).

A total counts the persons of the cells it covers, including a cell of the band "unbekannt";
each person is in one cell per figure, so totals add up. Its value aggregates the pooled
numbers of those persons like a cell's (count, sum, share, mean, median, P90), so medians,
P90s, shares and means of a total are computed from the persons, never from the cells'
values. A total of fewer than five persons is suppressed like a cell.

Secondary suppression (``steering_suppression``): the person counts of cells and totals,
published for every figure, are additive, so a suppressed cell could be worked out from a
total and the cells beside it (across nested totals too: age bands within site x
Rechtskreis, sites within an Integration Point, Rechtskreise within one). Further cells
(small ones first) or totals are suppressed until no suppressed count follows from the
published ones, by subtraction or linear elimination. The one pattern hides the value and
the count alike: for sums, shares and means the persons' sums are additive in the same way,
and medians and P90s, not additive, are shown only where their persons count is. A
suppressed row never says why (too few persons or protecting another). A cell of the band
"unbekannt" is listed only where someone falls in it; its absence says zero, so it is no
unknown in the equations.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Any, Final

from contracts.common import Site
from services.projections import steering
from services.projections.steering import (
    FIGURES,
    MIN_CELL_PERSONS,
    AgeBand,
    AgeBandSource,
    Cell,
    Figure,
    FigureRow,
    Month,
    Rechtskreis,
)
from services.projections.steering_suppression import Table, suppress


class Area(StrEnum):
    IP_MG = "IP-MG"  # Integration Point Mönchengladbach: the site MG
    IP_RKN = "IP-RKN"  # Integration Point Rhein-Kreis Neuss: the sites NE and GV
    NE = "NE"
    GV = "GV"


SITES: Final = {
    Area.IP_MG: frozenset({Site.MG}),
    Area.IP_RKN: frozenset({Site.NE, Site.GV}),
    Area.NE: frozenset({Site.NE}),
    Area.GV: frozenset({Site.GV}),
}
_NAMES: Final = {
    Area.IP_MG: "IP Mönchengladbach",
    Area.IP_RKN: "IP Rhein-Kreis Neuss",
    Area.NE: "Standort Neuss",
    Area.GV: "Standort Grevenbroich",
}
_JOBCENTERS: Final = {
    Area.IP_MG: "Jobcenter Mönchengladbach",
    Area.IP_RKN: "Jobcenter Rhein-Kreis Neuss",
}


@dataclass(frozen=True)
class Margin:
    """A total: the cells of an area, of one Rechtskreis or both, of one age band or all."""

    area: Area
    rechtskreis: Rechtskreis | None = None
    age_band: AgeBand | None = None

    def covers(self, cell: Cell) -> bool:
        return (
            cell.site in SITES[self.area]
            and self.rechtskreis in (None, cell.rechtskreis)
            and self.age_band in (None, cell.age_band)
        )

    @property
    def label(self) -> str:
        """The German name the rounds use, e.g. "Jobcenter Rhein-Kreis Neuss"."""
        name = _NAMES[self.area]
        if self.rechtskreis is Rechtskreis.SGB_II and self.area in _JOBCENTERS:
            name = _JOBCENTERS[self.area]
        elif self.rechtskreis is Rechtskreis.SGB_III:
            name += ", SGB III (Agentur)"
        elif self.rechtskreis is not None:
            name += f", {self.rechtskreis.value}"
        if self.age_band is not None:
            return f"{name}, {self.age_band.value}"
        return name if self.rechtskreis else f"{name} gesamt"


def _margins() -> tuple[Margin, ...]:
    per_ip = [
        Margin(ip, rechtskreis, band)
        for ip in (Area.IP_MG, Area.IP_RKN)
        for rechtskreis, band in (
            (None, None),
            (Rechtskreis.SGB_II, None),
            (Rechtskreis.SGB_III, None),
            (None, AgeBand.UNDER_25),
            (None, AgeBand.FROM_25),
        )
    ]
    per_site = [
        Margin(site, rechtskreis)
        for site in (Area.NE, Area.GV)
        for rechtskreis in (None, Rechtskreis.SGB_II, Rechtskreis.SGB_III)
    ]
    return (*per_ip, *per_site)


MARGINS: Final = _margins()


@dataclass(frozen=True)
class TotalRow:
    """One figure in one total; suppressed like a cell (no value, no person count)."""

    figure: str
    version: str
    month: str
    area: Area
    rechtskreis: Rechtskreis | None  # None: both
    age_band: AgeBand | None  # None: every band
    label: str
    value: float | None
    persons: int | None
    suppressed: bool


@dataclass(frozen=True)
class Publication:
    """A month's figures as published: cells and totals, suppressed together."""

    cells: list[FigureRow]
    totals: list[TotalRow]


def publish(
    records: Iterable[steering.CaseRecord],
    month: str,
    age_band: AgeBandSource,
    figures: Iterable[Figure] = FIGURES,
) -> Publication:
    """Every figure of ``month`` in every cell and total, in registry then cell order."""
    period = Month.parse(month)
    cells: list[FigureRow] = []
    totals: list[TotalRow] = []
    for figure, observed in steering.observations_of(records, period, age_band, figures):
        grid = tuple(sorted(observed, key=steering.cell_order))
        pooled = [[v for cell in grid if m.covers(cell) for v in observed[cell]] for m in MARGINS]
        counts = (*(len(observed[cell]) for cell in grid), *(len(p) for p in pooled))
        withheld = suppress(Table(counts, *layout(grid)), MIN_CELL_PERSONS)
        cells += [
            steering.cell_row(figure, period, cell, observed[cell], withheld=i in withheld)
            for i, cell in enumerate(grid)
        ]
        totals += [
            _total_row(figure, period, margin, values, withheld=len(grid) + k in withheld)
            for k, (margin, values) in enumerate(zip(MARGINS, pooled, strict=True))
        ]
    return Publication(cells, totals)


def _total_row(
    figure: Figure, month: Month, margin: Margin, values: list[float], *, withheld: bool
) -> TotalRow:
    shown = not withheld and len(values) >= MIN_CELL_PERSONS
    return TotalRow(
        figure=figure.key,
        version=figure.version,
        month=month.label,
        area=margin.area,
        rechtskreis=margin.rechtskreis,
        age_band=margin.age_band,
        label=margin.label,
        value=steering.aggregate_of(figure.aggregate, values) if shown else None,
        persons=len(values) if shown else None,
        suppressed=not shown,
    )


Layout = tuple[tuple[frozenset[int], ...], tuple[tuple[int, tuple[int, ...]], ...]]


@cache
def layout(grid: tuple[Cell, ...]) -> Layout:
    """Items ``grid`` (the cells) then ``MARGINS``: what each covers, and the additive
    constraints: each total split by each dimension it spans (site, Rechtskreis, age band)
    into the items that cover exactly one value, or into their cells where no item does."""
    covers = [frozenset({i}) for i in range(len(grid))]
    covers += [frozenset(i for i, cell in enumerate(grid) if m.covers(cell)) for m in MARGINS]
    item_of = {cover: item for item, cover in reversed(list(enumerate(covers)))}
    constraints: set[tuple[int, tuple[int, ...]]] = set()
    for total in range(len(grid), len(covers)):
        for dimension in ("site", "rechtskreis", "age_band"):
            groups: dict[Any, set[int]] = {}
            for i in covers[total]:
                groups.setdefault(getattr(grid[i], dimension), set()).add(i)
            if len(groups) < 2:  # one value: no split along it
                continue
            parts: list[int] = []
            for group in groups.values():
                part = item_of.get(frozenset(group))
                parts += [part] if part is not None else sorted(group)
            constraints.add((total, tuple(sorted(parts))))
    return tuple(covers), tuple(sorted(constraints))


# --- CSV -------------------------------------------------------------------------------------

ALL: Final = "alle"  # a total's Rechtskreis or age band when it spans them all
CSV_COLUMNS: Final = (
    "month",
    "site",
    "rechtskreis",
    "age_band",
    "figure",
    "version",
    "value",
    "persons",
    "suppressed",
    "total",
    "label",
)


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if value.is_integer() else f"{value:.1f}"


def to_csv(cells: Iterable[FigureRow], totals: Iterable[TotalRow] = ()) -> str:
    """The cells, then the totals, as CSV with a header. Suppressed rows have empty value and
    persons; a total names its area in ``site`` ("IP-MG", "IP-RKN", "NE", "GV") and "alle"
    for a Rechtskreis or age band it spans."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in cells:
        writer.writerow(
            (
                row.month,
                row.site.value,
                row.rechtskreis.value,
                row.age_band.value,
                *_shown(row),
                "false",
                f"Standort {row.site.value}, {row.rechtskreis.value}, {row.age_band.value}",
            )
        )
    for total in totals:
        writer.writerow(
            (
                total.month,
                total.area.value,
                total.rechtskreis.value if total.rechtskreis else ALL,
                total.age_band.value if total.age_band else ALL,
                *_shown(total),
                "true",
                total.label,
            )
        )
    return out.getvalue()


def _shown(row: FigureRow | TotalRow) -> tuple[str, ...]:
    persons = "" if row.persons is None else str(row.persons)
    suppressed = "true" if row.suppressed else "false"
    return row.figure, row.version, _number(row.value), persons, suppressed
