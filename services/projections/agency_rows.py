"""An agency view's rows of one batch, kept in memory and written at once.

A round trip per event and table is what bounded a catch-up or a rebuild (about 600 events/s
here, one core busy with asyncpg calls): the view reads the rows of the batch's cases in one
query, keeps what it changes in memory, and writes it in a few statements when the runner
flushes, in the batch's transaction. What the view reads is what it would have read from the
database at that point of the batch: the rows as stored, changed by the batch's earlier events.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Final
from uuid import UUID

from contracts.common import Site
from contracts.envelope import Agency
from contracts.intake import DataCategory, Partner, Purpose
from services.chassis.calendar import day_of
from services.chassis.projection import DbConnection
from services.projections.purpose import CaseFacts, CategoryErasure, ConsentFacts, Responsibility


@dataclass(frozen=True)
class CaseRow:
    """What the view knows of a case besides its events: the facts the rules need and the
    case's clock, its latest recording instant."""

    facts: CaseFacts
    last_day: datetime


@dataclass
class _Known:
    """A case's rows as the batch sees them."""

    row: CaseRow | None
    registered: bool
    early: bool


# A case_events row: event_id, case_id, type, category, occurred_at, read_only, data (JSON),
# recorded_by (agency), actor_role, actor_reference.
EventRow = tuple[UUID, UUID, str, str | None, datetime, bool, str, str, str | None, str | None]
# A disclosure log row: event_id, case_id, from_agency, to_view, category, legal_basis,
# consent_id, disclosed_at.
LogRow = tuple[UUID, UUID, str, str, str | None, str | None, UUID | None, datetime]

_KNOWN: Final = (
    "SELECT c.case_id, f.facts::text AS facts, f.last_day,"
    " r.case_id IS NOT NULL AS registered, e.case_id IS NOT NULL AS early"
    " FROM unnest($1::uuid[]) AS c (case_id)"
    " LEFT JOIN case_facts f USING (case_id)"
    " LEFT JOIN registered_cases r USING (case_id)"
    " LEFT JOIN early_cases e USING (case_id)"
)
_LOG_COLUMNS: Final = (
    " (event_id, case_id, from_agency, to_view, category, legal_basis, consent_id, disclosed_at)"
)
_LOG_ROWS: Final = (
    " SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[],"
    " $6::text[], $7::uuid[], $8::timestamptz[]) ON CONFLICT (event_id, to_view) DO NOTHING"
)
# An event logged for this view keeps its first row: the log says when and on what ground it
# was first shown. RETURNING: the rows this batch wrote, which it may still take back.
LOG_SHOWN: Final = (
    "INSERT INTO public.disclosures" + _LOG_COLUMNS + _LOG_ROWS + " RETURNING event_id, case_id"
)
LOG_UNSHOWN: Final = "INSERT INTO disclosures_unshown" + _LOG_COLUMNS + _LOG_ROWS


@dataclass
class BatchRows:
    """The view's rows of the batch under way: read once per case, written at ``flush``."""

    view: str
    served: bool  # whether the generation is served: its log rows are shown ones
    _known: dict[UUID, _Known] = field(default_factory=dict)
    _changed_rows: set[UUID] = field(default_factory=set)
    _registered: set[UUID] = field(default_factory=set)
    _marked_early: set[UUID] = field(default_factory=set)
    # Cases whose stored events (and unshown log rows) go before the held ones are written.
    _cleared: set[UUID] = field(default_factory=set)
    _held: dict[UUID, dict[UUID, EventRow]] = field(default_factory=dict)
    _logged: dict[UUID, dict[UUID, LogRow]] = field(default_factory=dict)
    # Shown log rows an earlier flush of this batch wrote (one per event when the runner
    # isolates a poison message): a later judgement of the case in the batch takes them back.
    _logged_flushed: dict[UUID, set[UUID]] = field(default_factory=dict)

    async def read(self, conn: DbConnection, case_ids: Iterable[UUID]) -> None:
        """Read the rows of the cases not known yet, in one query."""
        missing = list({c for c in case_ids if c not in self._known})
        if not missing:
            return
        for r in await conn.fetch(_KNOWN, missing):
            facts = None if r["facts"] is None else facts_from_json(r["facts"])
            row = None if facts is None else CaseRow(facts, r["last_day"])
            self._known[r["case_id"]] = _Known(row, r["registered"], r["early"])

    async def _of(self, conn: DbConnection, case_id: UUID) -> _Known:
        if case_id not in self._known:
            await self.read(conn, [case_id])
        return self._known[case_id]

    async def row(self, conn: DbConnection, case_id: UUID) -> CaseRow | None:
        return (await self._of(conn, case_id)).row

    def save(self, case_id: UUID, row: CaseRow | None) -> None:
        """Keep the case's facts (None: drop them); the batch's later events read these."""
        self._known[case_id].row = row
        self._changed_rows.add(case_id)

    async def registered(self, conn: DbConnection, case_id: UUID) -> bool:
        """Note the case as registered; whether events of it came before its registration."""
        known = await self._of(conn, case_id)
        early, known.registered, known.early = known.early, True, False
        self._registered.add(case_id)
        self._marked_early.discard(case_id)
        return early

    async def mark_if_early(self, conn: DbConnection, case_id: UUID) -> bool:
        """An event of a case whose registration the view has not read yet: the partitions of
        the four topics are read in no particular order across topics (a catch-up, a rebuild),
        so the registration may come later; it then judges these events too. True when this
        marked the case (its first early event)."""
        known = await self._of(conn, case_id)
        if known.registered or known.early:
            return False
        known.early = True
        self._marked_early.add(case_id)
        return True

    def clear(self, case_id: UUID) -> None:
        """The case is judged again: its events go, and the log rows nobody has been shown
        (of the batch under way; of a generation not served yet, all of them)."""
        self._cleared.add(case_id)
        self._held.pop(case_id, None)
        self._logged.pop(case_id, None)

    def hold(self, event: EventRow, log: LogRow) -> None:
        event_id, case_id = event[0], event[1]
        self._held.setdefault(case_id, {})[event_id] = event
        self._logged.setdefault(case_id, {})[event_id] = log

    async def flush(self, conn: DbConnection) -> None:
        """Write what the batch changed: facts, case marks, the events held, the log rows; a
        judged case's stored events and unshown log rows go before its held ones are written."""
        await self._flush_facts(conn)
        if self._marked_early:
            await conn.execute(
                "INSERT INTO early_cases SELECT unnest($1::uuid[]) ON CONFLICT DO NOTHING",
                list(self._marked_early),
            )
        if self._registered:
            await conn.execute(
                "INSERT INTO registered_cases SELECT unnest($1::uuid[]) ON CONFLICT DO NOTHING",
                list(self._registered),
            )
            await conn.execute(
                "DELETE FROM early_cases WHERE case_id = ANY($1::uuid[])", list(self._registered)
            )
        await self._flush_events(conn)
        await self._flush_log(conn)
        self._changed_rows, self._registered, self._marked_early = set(), set(), set()
        self._cleared, self._held, self._logged = set(), {}, {}

    def drop(self) -> None:
        """Forget everything not flushed, and what was read: the database says it again."""
        self._known, self._changed_rows = {}, set()
        self._registered, self._marked_early = set(), set()
        self._cleared, self._held, self._logged = set(), {}, {}

    async def _flush_facts(self, conn: DbConnection) -> None:
        rows = {c: self._known[c].row for c in self._changed_rows}
        gone = [c for c, row in rows.items() if row is None]
        if gone:
            await conn.execute("DELETE FROM case_facts WHERE case_id = ANY($1::uuid[])", gone)
        kept = [(c, facts_to_json(row.facts), row.last_day) for c, row in rows.items() if row]
        if kept:
            await conn.executemany(
                "INSERT INTO case_facts (case_id, facts, last_day) VALUES ($1, $2, $3)"
                " ON CONFLICT (case_id) DO UPDATE"
                " SET facts = excluded.facts, last_day = excluded.last_day",
                kept,
            )

    async def _flush_events(self, conn: DbConnection) -> None:
        if self._cleared:
            await conn.execute(
                "DELETE FROM case_events WHERE case_id = ANY($1::uuid[])", list(self._cleared)
            )
        held = [row for rows in self._held.values() for row in rows.values()]
        if held:
            await conn.executemany(
                "INSERT INTO case_events (event_id, case_id, type, category, occurred_at,"
                " read_only, data, recorded_by, actor_role, actor_reference)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10)"
                " ON CONFLICT (event_id) DO UPDATE"
                " SET data = excluded.data, read_only = excluded.read_only",
                held,
            )

    async def _flush_log(self, conn: DbConnection) -> None:
        if not self.served:
            if self._cleared:
                await conn.execute(
                    "DELETE FROM disclosures_unshown WHERE case_id = ANY($1::uuid[])",
                    list(self._cleared),
                )
            await _insert_log(conn, LOG_UNSHOWN, self._logged)
            return
        taken_back = [e for c in self._cleared for e in self._logged_flushed.pop(c, set())]
        if taken_back:
            await conn.execute(
                "DELETE FROM public.disclosures WHERE to_view = $1 AND event_id = ANY($2::uuid[])",
                self.view,
                taken_back,
            )
        for written in await _insert_log(conn, LOG_SHOWN, self._logged):
            self._logged_flushed.setdefault(written["case_id"], set()).add(written["event_id"])


async def _insert_log(
    conn: DbConnection, statement: str, logged: dict[UUID, dict[UUID, LogRow]]
) -> list[Any]:
    rows = [row for by_event in logged.values() for row in by_event.values()]
    if not rows:
        return []
    return list(await conn.fetch(statement, *(list(column) for column in zip(*rows, strict=True))))


def facts_to_json(facts: CaseFacts) -> str:
    """The facts as JSON, days and recording instants as ISO strings."""

    def encode(value: object) -> object:
        if isinstance(value, datetime | date | UUID | StrEnum):
            return str(value) if not isinstance(value, date) else value.isoformat()
        if isinstance(value, frozenset | set):
            return sorted(value, key=str)
        if is_dataclass(value):  # field by field: ``asdict`` deep-copies every value first
            return {f.name: getattr(value, f.name) for f in fields(value)}
        raise TypeError(type(value).__name__)

    return json.dumps(facts, default=encode)


def _instant(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _day(value: str) -> date:
    """A stored day; facts stored before the views judged on German days hold the instant
    of recording instead, whose German day it becomes."""
    if len(value) == len("YYYY-MM-DD"):
        return date.fromisoformat(value)
    return day_of(datetime.fromisoformat(value))


def _maybe_day(value: str | None) -> date | None:
    return None if value is None else _day(value)


def _erasure(raw: dict[str, Any] | list[str]) -> CategoryErasure:
    if isinstance(raw, list):  # stored before the instant was kept beside the day
        category, on = raw
        return CategoryErasure(DataCategory(category), _day(on))
    return CategoryErasure(
        DataCategory(raw["category"]), _day(raw["on"]), _instant(raw["recorded_at"])
    )


def _responsibility(raw: dict[str, Any]) -> Responsibility:
    since: str = raw["since"]
    # Facts stored before the instant was kept beside the day held the instant as "since".
    at = raw.get("recorded_at") or (since if len(since) > len("YYYY-MM-DD") else None)
    return Responsibility(Agency(raw["agency"]), _day(since), _instant(at))


def facts_from_json(stored: str) -> CaseFacts:
    """The facts back from JSON, days as days and recording instants as instants."""
    raw = json.loads(stored)
    return CaseFacts(
        site=Site(raw["site"]) if raw["site"] else None,
        responsibility=tuple(_responsibility(r) for r in raw["responsibility"]),
        rechtskreiswechsel_on=_maybe_day(raw["rechtskreiswechsel_on"]),
        wohnsitzauflage_from=_maybe_day(raw["wohnsitzauflage_from"]),
        abh_obligations=frozenset((UUID(e), Agency(a)) for e, a in raw["abh_obligations"]),
        enrolments=frozenset((UUID(n), UUID(e)) for n, e in raw["enrolments"]),
        consents=tuple(
            ConsentFacts(
                consent_id=UUID(c["consent_id"]),
                purposes=frozenset(Purpose(p) for p in c["purposes"]),
                agencies=frozenset(Agency(a) for a in c["agencies"]),
                partners=frozenset(Partner(p) for p in c["partners"]),
                data_categories=frozenset(DataCategory(d) for d in c["data_categories"]),
                given_on=_day(c["given_on"]),
                # Stored before: the instant its last day was taken to end (UTC midnight).
                valid_until=_maybe_day(c["valid_until"] and c["valid_until"][:10]),
                ended_on=_maybe_day(c["ended_on"]),
                employers=frozenset(c.get("employers", ())),  # absent in facts stored before
            )
            for c in raw["consents"]
        ),
        erased_categories=tuple(_erasure(e) for e in raw.get("erased_categories", [])),
    )
