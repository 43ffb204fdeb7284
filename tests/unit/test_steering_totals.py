"""Steering totals for the two rounds, and secondary suppression tried by an attacker who
solves the published equations for every suppressed value."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping
from datetime import date, timedelta
from fractions import Fraction
from uuid import NAMESPACE_URL, UUID, uuid5

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from contracts.common import Site
from contracts.envelope import Agency
from services.projections import steering_totals
from services.projections.steering import (
    FIGURES,
    MIN_CELL_PERSONS,
    AgeBand,
    CaseRecord,
    Cell,
    FigureRow,
    Rechtskreis,
)
from services.projections.steering_suppression import Table, disclosed
from services.projections.steering_totals import (
    Area,
    Publication,
    TotalRow,
    layout,
    publish,
    to_csv,
)

ALLOCATED = date(2016, 3, 7)
MONTH = "2016-03"
ALLOCATIONS = next(f for f in FIGURES if f.key == "intake.allocation")
FIRST_CONTACT_MEDIAN = next(f for f in FIGURES if f.key == "first_contact.days_median")
BANDS = (AgeBand.UNDER_25, AgeBand.FROM_25, AgeBand.UNKNOWN)
CELLS = tuple(Cell(s, r, b) for s in Site for r in Rechtskreis for b in BANDS)
Counts = Mapping[Cell, int]


def population(
    counts: Counts, contact_days: Callable[[Cell, int], int] | None = None
) -> Publication:
    """``counts[cell]`` persons allocated in March 2016 in each cell (first contacted after
    ``contact_days(cell, n)`` days, when given), published with allocations (and the median)."""
    records: list[CaseRecord] = []
    bands: dict[UUID, AgeBand] = {}
    for cell, count in counts.items():
        agency = Agency.AA_MG
        if cell.rechtskreis is Rechtskreis.SGB_II:
            agency = Agency.JC_MG if cell.site is Site.MG else Agency.JC_RKN
        for n in range(count):
            case_id = uuid5(NAMESPACE_URL, f"totals/{cell}/{n}")
            record = CaseRecord(
                case_id,
                allocated_on=ALLOCATED,
                sites=[(ALLOCATED, cell.site)],
                agencies=[(ALLOCATED, agency)],
            )
            if contact_days is not None:
                record.first_contact_on = ALLOCATED + timedelta(days=contact_days(cell, n))
            records.append(record)
            bands[case_id] = cell.age_band
    figures = [ALLOCATIONS] + ([FIRST_CONTACT_MEDIAN] if contact_days else [])
    return publish(records, MONTH, lambda case_id, _day: bands[case_id], figures)


def total(
    published: Publication,
    area: Area,
    rk: Rechtskreis | None = None,
    band: AgeBand | None = None,
    figure: str = "intake.allocation",
) -> TotalRow:
    return next(
        t
        for t in published.totals
        if (t.figure, t.area, t.rechtskreis, t.age_band) == (figure, area, rk, band)
    )


def shown_cell(published: Publication, cell: Cell) -> int | None:
    row = next(
        r
        for r in published.cells
        if (r.site, r.rechtskreis, r.age_band) == (cell.site, cell.rechtskreis, cell.age_band)
    )
    return row.persons


III, II = Rechtskreis.SGB_III, Rechtskreis.SGB_II
U25, O25 = AgeBand.UNDER_25, AgeBand.FROM_25


def test_totals_per_integration_point_jobcenter_and_site_add_up() -> None:
    """Every cell large: IP-RKN is NE + GV, the Jobcenter is the IP's SGB II, all shown."""
    counts = {cell: 5 + i for i, cell in enumerate(CELLS) if cell.age_band is not AgeBand.UNKNOWN}
    published = population(counts)

    def persons(sites: set[Site], rks: set[Rechtskreis], bands: set[AgeBand]) -> int:
        return sum(
            n
            for c, n in counts.items()
            if c.site in sites and c.rechtskreis in rks and c.age_band in bands
        )

    both, every = {III, II}, {U25, O25}
    rkn = {Site.NE, Site.GV}
    assert total(published, Area.IP_MG).value == persons({Site.MG}, both, every)
    assert total(published, Area.IP_RKN).value == persons(rkn, both, every)
    jc_rkn = total(published, Area.IP_RKN, II)
    assert (jc_rkn.value, jc_rkn.label) == (
        persons(rkn, {II}, every),
        "Jobcenter Rhein-Kreis Neuss",
    )
    assert total(published, Area.IP_MG, II).label == "Jobcenter Mönchengladbach"
    assert total(published, Area.IP_RKN, III).value == persons(rkn, {III}, every)
    assert total(published, Area.IP_RKN, band=U25).value == persons(rkn, both, {U25})
    assert total(published, Area.GV, II).value == persons({Site.GV}, {II}, every)
    assert total(published, Area.NE).label == "Standort Neuss gesamt"
    assert not any(row.suppressed for row in published.cells)
    assert not any(row.suppressed for row in published.totals)
    assert len(published.totals) == len(steering_totals.MARGINS)


def test_a_totals_median_comes_from_its_persons_not_from_the_cells() -> None:
    """NE: 5 persons contacted after 0-4 days, GV: 5 after 10-14: IP-RKN's nearest-rank
    median is the persons' 5th smallest (4), not a cell's median (2, 12) nor their mean."""
    counts = {Cell(Site.NE, III, O25): 5, Cell(Site.GV, II, O25): 5}
    published = population(counts, contact_days=lambda c, n: n + (10 if c.site is Site.GV else 0))
    median = total(published, Area.IP_RKN, figure="first_contact.days_median")
    assert (median.value, median.persons) == (4, 10)


def test_a_cell_beside_a_small_one_is_suppressed_with_it() -> None:
    """MG SGB III: 3 under 25 and 9 older; the total (12) would give the 3 away, so the 9
    is suppressed too, while the total stays."""
    published = population(
        {
            Cell(Site.MG, III, U25): 3,
            Cell(Site.MG, III, O25): 9,
            Cell(Site.MG, II, U25): 7,
            Cell(Site.MG, II, O25): 8,
        }
    )
    assert shown_cell(published, Cell(Site.MG, III, U25)) is None
    assert shown_cell(published, Cell(Site.MG, III, O25)) is None
    assert total(published, Area.IP_MG, III).persons == 12
    assert total(published, Area.IP_MG).persons == 27


def test_csv_has_the_totals_with_their_german_names() -> None:
    """Cells then totals; a total names its area, "alle" for what it spans, and its label."""
    published = population({cell: 6 for cell in CELLS if cell.age_band is not AgeBand.UNKNOWN})
    records = list(csv.DictReader(io.StringIO(to_csv(published.cells, published.totals))))
    assert len(records) == len(published.cells) + len(published.totals)
    jobcenter = next(r for r in records if r["label"] == "Jobcenter Rhein-Kreis Neuss")
    assert (jobcenter["site"], jobcenter["rechtskreis"], jobcenter["age_band"]) == (
        "IP-RKN",
        "SGB II",
        "alle",
    )
    assert (jobcenter["value"], jobcenter["total"]) == ("24", "true")
    assert records[0]["total"] == "false"


def test_every_constraint_splits_its_total_into_parts_that_cover_it_once() -> None:
    """The additive constraints are true equations: the parts partition the total's cells."""
    covers, constraints = layout(CELLS)
    assert constraints
    for whole, parts in constraints:
        cells = [cell for part in parts for cell in covers[part]]
        assert sorted(cells) == sorted(covers[whole])


# --- the attack --------------------------------------------------------------------------------


AREA_SITES = {
    Area.IP_MG: {Site.MG},
    Area.IP_RKN: {Site.NE, Site.GV},
    Area.NE: {Site.NE},
    Area.GV: {Site.GV},
}


def _under(row: TotalRow, cell: Cell) -> bool:
    """The attacker's reading of a total's row: which cells it sums."""
    return (
        cell.site in AREA_SITES[row.area]
        and row.rechtskreis in (None, cell.rechtskreis)
        and row.age_band in (None, cell.age_band)
    )


def recovered(published: Publication, figure: str = "intake.allocation") -> dict[str, int]:
    """Every suppressed count the published rows determine. First, counts are never
    negative: a published total less a published total inside it (or nothing), less the
    published cells between, leaving 0 makes every suppressed cell between 0. Then the
    unknowns are the remaining suppressed cells, each published total an equation;
    Gauss-Jordan elimination, and a suppressed cell whose row reduces to itself alone, or a
    suppressed total whose cells' vector reduces to nothing, is recovered with its value."""
    cells = [r for r in published.cells if r.figure == figure]
    totals = [t for t in published.totals if t.figure == figure]
    listed = [Cell(r.site, r.rechtskreis, r.age_band) for r in cells]
    known = {c: r.persons for c, r in zip(listed, cells, strict=True) if r.persons is not None}
    shown = [t for t in totals if t.persons is not None]
    found: dict[str, int] = {}
    for outer in shown:
        for inner in [None, *shown]:
            between = [c for c in listed if _under(outer, c) and not (inner and _under(inner, c))]
            if inner is not None and (inner is outer or len(between) == len(listed)):
                continue
            if inner is not None and not all(_under(outer, c) for c in listed if _under(inner, c)):
                continue
            rest = outer.persons - (inner.persons if inner else 0)  # type: ignore[operator]
            hidden = [c for c in between if c not in known]
            if hidden and rest == sum(known[c] for c in between if c in known):
                found |= {_name(c): 0 for c in hidden}
    zero = {c: 0 for c in listed if _name(c) in found}
    known = {**known, **zero}
    unknown = [c for c in listed if c not in known]
    rows: list[list[Fraction]] = []
    for t in shown:
        rest = t.persons - sum(n for c, n in known.items() if _under(t, c))  # type: ignore[operator]
        rows.append([Fraction(int(_under(t, c))) for c in unknown] + [Fraction(rest)])
    rref = _gauss_jordan(rows, len(unknown))
    for k, cell in enumerate(unknown):
        vector = [Fraction(int(j == k)) for j in range(len(unknown))]
        if (value := _solve(vector, rref)) is not None:
            found[_name(cell)] = value
    for t in totals:
        if t.suppressed:
            vector = [Fraction(int(_under(t, c))) for c in unknown]
            if (value := _solve(vector, rref)) is not None:
                found[t.label] = sum(n for c, n in known.items() if _under(t, c)) + value
    return found


def _name(cell: Cell) -> str:
    return f"{cell.site} {cell.rechtskreis} {cell.age_band}"


def _gauss_jordan(rows: list[list[Fraction]], width: int) -> list[list[Fraction]]:
    rows = [list(r) for r in rows]
    rank = 0
    for col in range(width):
        pivot = next((i for i in range(rank, len(rows)) if rows[i][col]), None)
        if pivot is None:
            continue
        rows[rank], rows[pivot] = rows[pivot], rows[rank]
        rows[rank] = [x / rows[rank][col] for x in rows[rank]]
        for i in range(len(rows)):
            if i != rank and rows[i][col]:
                factor = rows[i][col]
                rows[i] = [x - factor * y for x, y in zip(rows[i], rows[rank], strict=True)]
        rank += 1
    return rows[:rank]


def _solve(vector: list[Fraction], rref: list[list[Fraction]]) -> int | None:
    """The value of ``vector . x`` if the equations fix it, else None."""
    rest, value = list(vector), Fraction(0)
    for row in rref:
        col = next(j for j, x in enumerate(row[:-1]) if x)
        if factor := rest[col]:
            rest = [x - factor * y for x, y in zip(rest, row[:-1], strict=True)]
            value += factor * row[-1]
    return None if any(rest) else int(value)


small_or_large = st.one_of(st.integers(0, 4), st.integers(0, 4), st.integers(5, 30))
grids = st.fixed_dictionaries(
    {
        cell: st.integers(0, 3) if cell.age_band is AgeBand.UNKNOWN else small_or_large
        for cell in CELLS
    }
)


# Found by search: the classic rule and the zero rule leave GV SGB II 25+ (0) determined by
# a combination of totals that only the elimination finds.
NEEDS_ELIMINATION = dict.fromkeys(CELLS, 0) | {
    Cell(Site.MG, III, U25): 2,
    Cell(Site.MG, II, U25): 5,
    Cell(Site.MG, II, O25): 3,
    Cell(Site.NE, III, U25): 5,
    Cell(Site.NE, III, O25): 1,
    Cell(Site.NE, II, U25): 1,
    Cell(Site.NE, II, O25): 12,
    Cell(Site.NE, II, AgeBand.UNKNOWN): 2,
    Cell(Site.GV, III, U25): 6,
    Cell(Site.GV, III, O25): 1,
}


@settings(max_examples=200, deadline=None)
@given(grids)
@example(NEEDS_ELIMINATION)
def test_no_suppressed_count_can_be_worked_out_from_the_published_ones(counts: Counts) -> None:
    """For random cell counts, solving the published totals and cells recovers no
    suppressed cell and no suppressed total."""
    published = population(counts)
    assert recovered(published) == {}
    rows: list[FigureRow | TotalRow] = [*published.cells, *published.totals]
    shown = [r.persons for r in rows if not r.suppressed]
    assert all(persons is not None and persons >= MIN_CELL_PERSONS for persons in shown)


def test_the_attack_recovers_cells_when_only_small_ones_are_withheld(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without secondary suppression the same attack recovers the withheld cell's true
    count (3) from the totals: the attack test can fail."""
    monkeypatch.setattr(
        steering_totals,
        "suppress",
        lambda table, minimum: frozenset(i for i, n in enumerate(table.counts) if n < minimum),
    )
    counts = {cell: 6 for cell in CELLS if cell.age_band is not AgeBand.UNKNOWN}
    counts[Cell(Site.GV, II, U25)] = 3
    found = recovered(population(counts))
    assert found["GV SGB II unter 25"] == 3


def test_a_total_filled_by_one_published_cell_gets_it_withheld() -> None:
    """MG: 6 persons over 25 in SGB III, no one else: the IP's total (6) shows, the cell of
    6 does not, or the total less it would say that every other MG cell is empty."""
    published = population({Cell(Site.MG, III, O25): 6})
    assert total(published, Area.IP_MG).persons == 6
    assert shown_cell(published, Cell(Site.MG, III, O25)) is None
    assert recovered(published) == {}


def test_the_attack_finds_empty_cells_by_subtraction(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the non-negativity rule, the total less the one published cell recovers the
    other MG cells as empty: the attack's first step can fail the property test."""
    monkeypatch.setattr(
        steering_totals,
        "suppress",
        lambda table, minimum: frozenset(i for i, n in enumerate(table.counts) if n < minimum),
    )
    found = recovered(population({Cell(Site.MG, III, O25): 6, Cell(Site.NE, II, O25): 7}))
    assert found["MG SGB III unter 25"] == 0
    assert found["MG SGB II 25 und älter"] == 0


def test_the_audit_finds_what_two_totals_give_away_together() -> None:
    """Cells a, b, c suppressed; published a+b, b+c and a+b+c give each away; the audit
    names all three, and withholding a+b+c leaves none determined."""
    counts = (1, 2, 3, 3, 5, 6)
    covers = tuple(frozenset(c) for c in ({0}, {1}, {2}, {0, 1}, {1, 2}, {0, 1, 2}))
    table = Table(counts, covers, ())
    assert disclosed(table, {0, 1, 2}) == [0, 1, 2]
    assert disclosed(table, {0, 1, 2, 5}) == []
