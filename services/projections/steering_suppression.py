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

3. Counts are never negative: where a published total (less a published total inside it)
   is filled by the published cells between them, the withheld cells there are all zero.
   Zero is withheld like any small count (else a withheld cell would mean 1 to 4), so such
   a total gets a published cell between (or itself) withheld as well.

What is not covered: other bounds. A zero or a narrow range that only a combination of more
than two totals with the non-negativity gives (a linear program over the counts) is not
searched for; and sums of withheld cells are known by design (the total less its published
cells). The published ``suppressed`` flag never says whether an item was withheld for being
small or to protect another, so a withheld item may hold any count.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Final


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
        if (empty := _emptied(table, withheld)) is not None:
            withheld.add(_cheapest(table, withheld, empty[1]))
        elif leaked := _determined(table, withheld):
            withheld.add(_protector(table, withheld, leaked[0]))
        else:
            return frozenset(withheld)


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
    """The withheld items whose value follows from the published items: by linear
    elimination (cells known, totals as equations in the withheld cells), or, as zero, from
    a published total that its published cells (and a published total inside it) fill."""
    hidden = set(withheld)
    shown_empty: set[int] = set()
    for between in _nested(table, hidden):
        if _remainder(table, hidden, between) == 0:
            shown_empty |= between[2] & hidden
    return sorted(set(_determined(table, hidden)) | shown_empty)


Between = tuple[int, int | None, frozenset[int]]  # total, a total inside it, cells between


@cache
def _nestings(covers: tuple[frozenset[int], ...]) -> tuple[Between, ...]:
    base = {i for i, cover in enumerate(covers) if cover == {i}}
    totals = [i for i in range(len(covers)) if i not in base]
    return tuple(
        (total, inner, covers[total] - (covers[inner] if inner is not None else frozenset()))
        for total in totals
        for inner in (None, *totals)
        if inner is None or covers[inner] < covers[total]
    )


def _nested(table: Table, withheld: set[int]) -> list[Between]:
    """Pairs of published totals, the second inside the first (or none), with the cells
    between them."""
    return [
        (total, inner, rest)
        for total, inner, rest in _nestings(table.covers)
        if total not in withheld and inner not in withheld
    ]


def _remainder(table: Table, withheld: set[int], between: Between) -> int | None:
    """What a published total, less the published total inside it, leaves for the withheld
    cells between them (None: no withheld cell there)."""
    total, inner, rest = between
    if rest.isdisjoint(withheld):
        return None
    shown = sum(table.counts[cell] for cell in rest - withheld)
    return table.counts[total] - (table.counts[inner] if inner is not None else 0) - shown


def _emptied(table: Table, withheld: set[int]) -> tuple[int, set[int]] | None:
    """A published total whose published cells (with a published total inside it) add up to
    it, so the withheld cells between are zero, and what to withhold against it: a published
    cell between them (a total there would change nothing), else one of the two totals."""
    for between in _nested(table, withheld):
        if _remainder(table, withheld, between) != 0:
            continue
        total, inner, rest = between
        cells = {cell for cell in rest - withheld if table.counts[cell] > 0}
        return total, cells or ({total} if inner is None else {total, inner})
    return None


def _determined(table: Table, withheld: Collection[int]) -> list[int]:
    """The withheld items that linear elimination over the published ones determines."""
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


# Elimination modulo a prime far above any minor of the 0/1 matrices here (at most 18
# unknown cells: Hadamard's bound for an 18 x 18 0/1 determinant is below 10^7), so the ranks
# and spans are those over the rationals, in exact integer arithmetic that Fraction makes slow.
PRIME: Final = 2**61 - 1
Vector = list[int]


def _vector(cover: frozenset[int], column: dict[int, int]) -> Vector:
    vector = [0] * len(column)
    for cell in cover:
        if cell in column:  # published cells are known numbers: they move to the right side
            vector[column[cell]] = 1
    return vector


def _echelon(rows: Sequence[Vector]) -> list[tuple[int, Vector]]:
    """Gaussian elimination: (pivot column, row) pairs, each row zero at the others' pivots."""
    basis: list[tuple[int, Vector]] = []
    for row in rows:
        reduced = _reduce(list(row), basis)
        pivot = next((k for k, x in enumerate(reduced) if x), None)
        if pivot is None:
            continue
        inverse = pow(reduced[pivot], PRIME - 2, PRIME)
        reduced = [x * inverse % PRIME for x in reduced]
        basis = [(p, _eliminate(r, reduced, pivot)) for p, r in basis]
        basis.append((pivot, reduced))
    return basis


def _eliminate(row: Vector, by: Vector, pivot: int) -> Vector:
    factor = row[pivot]
    if not factor:
        return row
    return [(x - factor * y) % PRIME for x, y in zip(row, by, strict=True)]


def _reduce(row: Vector, basis: list[tuple[int, Vector]]) -> Vector:
    for pivot, base in basis:
        row = _eliminate(row, base, pivot)
    return row


def _in_span(vector: Vector, basis: list[tuple[int, Vector]]) -> bool:
    return not any(_reduce(vector, basis))
