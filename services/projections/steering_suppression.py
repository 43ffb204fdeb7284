"""Secondary suppression: no withheld count can be worked out from the published ones.

Pure and generic. A table is a list of items, each the count of a set of base cells (a base
cell is the count of itself; a total is the sum of the cells it covers), and the additive
constraints that hold between them (a total equals the sum of its parts). Items below the
minimum are withheld (primary suppression). Publishing totals beside the cells makes
withheld values computable: a total minus the published cells beside the one withheld one
gives it away. ``suppress`` withholds further items until none can be computed:

1. For every constraint (total = sum of parts) in which exactly one item is withheld,
   withhold a published part as well (or the total, when every part is withheld but one):
   the one that leaves the fewest other equations with a single withheld item, then the
   smallest; repeat to a fixed point. This is the classic rule for hierarchical tables.
2. Then an exact audit (``disclosed``): the published totals are linear equations in the
   withheld base cells; a withheld item whose cell vector lies in the span of those
   equations is determined (by elimination, whatever combination of totals and cells it
   takes). While one is, withhold a published item that shares a constraint with it (chosen
   alike), and go back to 1. Each round withholds one more item, so it ends; withholding
   every total would always end it, since cells alone are safe.

What is not covered: bounds. An attacker who knows that a withheld cell holds 0 to 4 can
narrow sums of withheld cells (e.g. two withheld cells that a total says add up to 8 are 4
each); the published ``suppressed`` flag never says whether an item was withheld for being
small or to protect another, so a secondary one may hold any count. Zero cells are treated as
sensitive like every other small cell.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from fractions import Fraction


@dataclass(frozen=True)
class Table:
    """Items ``0 .. len(counts) - 1``: ``covers[i]`` is the set of base cells item ``i`` sums
    (a base cell covers exactly itself); ``constraints`` are (total, parts) pairs where the
    parts' covers partition the total's."""

    counts: tuple[int, ...]
    covers: tuple[frozenset[int], ...]
    constraints: tuple[tuple[int, tuple[int, ...]], ...]

    @property
    def base(self) -> frozenset[int]:
        return frozenset(i for i, cover in enumerate(self.covers) if cover == {i})


def suppress(table: Table, minimum: int) -> frozenset[int]:
    """The items to withhold: those below ``minimum`` and enough others that no withheld
    item follows from the published ones."""
    withheld = {i for i, count in enumerate(table.counts) if count < minimum}
    while True:
        _singletons(table, withheld)
        leaked = disclosed(table, withheld)
        if not leaked:
            return frozenset(withheld)
        withheld.add(_protector(table, withheld, leaked[0]))


def _cheapest(table: Table, withheld: set[int], candidates: Collection[int]) -> int:
    """The candidate whose withholding opens the fewest new equations with exactly one
    withheld item (each would cost another), then the smallest; ties: cells first."""

    def opened(item: int) -> int:
        return sum(
            not any(other in withheld for other in (total, *parts))
            for total, parts in table.constraints
            if item in (total, *parts)
        )

    return min(candidates, key=lambda i: (opened(i), table.counts[i], i))


def _singletons(table: Table, withheld: set[int]) -> None:
    changed = True
    while changed:
        changed = False
        for total, parts in table.constraints:
            equation = (total, *parts)
            if sum(item in withheld for item in equation) != 1:
                continue
            published = [part for part in parts if part not in withheld]
            withheld.add(_cheapest(table, withheld, published) if published else total)
            changed = True


def _protector(table: Table, withheld: set[int], leaked: int) -> int:
    """A published item whose withholding takes an equation away from ``leaked``."""
    beside = {
        item
        for total, parts in table.constraints
        if leaked in (total, *parts)
        for item in (total, *parts)
        if item not in withheld
    }
    if not beside:  # no constraint names it: any published total over its cells will do
        beside = {
            item
            for item, cover in enumerate(table.covers)
            if item not in withheld and cover & table.covers[leaked] and item not in table.base
        }
    return _cheapest(table, withheld, beside)


def disclosed(table: Table, withheld: Collection[int]) -> list[int]:
    """The withheld items whose value follows, by linear elimination, from the published
    items (cells known, totals as equations in the withheld cells)."""
    unknown = sorted(table.base & set(withheld))
    column = {cell: k for k, cell in enumerate(unknown)}
    equations = [
        _vector(table.covers[item], column)
        for item in range(len(table.counts))
        if item not in withheld and item not in table.base
    ]
    basis = _echelon(equations)
    return [
        item for item in sorted(withheld) if _in_span(_vector(table.covers[item], column), basis)
    ]


Vector = list[Fraction]


def _vector(cover: frozenset[int], column: dict[int, int]) -> Vector:
    vector = [Fraction(0)] * len(column)
    for cell in cover:
        if cell in column:  # published cells are known numbers: they move to the right side
            vector[column[cell]] = Fraction(1)
    return vector


def _echelon(rows: Sequence[Vector]) -> list[tuple[int, Vector]]:
    """Gaussian elimination: (pivot column, row) pairs, each row zero at the others' pivots."""
    basis: list[tuple[int, Vector]] = []
    for row in rows:
        reduced = _reduce(list(row), basis)
        pivot = next((k for k, x in enumerate(reduced) if x), None)
        if pivot is None:
            continue
        reduced = [x / reduced[pivot] for x in reduced]
        basis = [(p, _eliminate(r, reduced, pivot)) for p, r in basis]
        basis.append((pivot, reduced))
    return basis


def _eliminate(row: Vector, by: Vector, pivot: int) -> Vector:
    factor = row[pivot]
    return row if not factor else [x - factor * y for x, y in zip(row, by, strict=True)]


def _reduce(row: Vector, basis: list[tuple[int, Vector]]) -> Vector:
    for pivot, base in basis:
        row = _eliminate(row, base, pivot)
    return row


def _in_span(vector: Vector, basis: list[tuple[int, Vector]]) -> bool:
    return not any(_reduce(vector, basis))
