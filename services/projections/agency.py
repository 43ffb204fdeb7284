"""One agency's view, built through the purpose rules: it holds only what they grant.

Events of all four topics arrive, in order per case and topic but in no particular order
across topics; the facts the rules need are folded per case. When an event may change what
the view may see (a hand-over accepted, a consent given, withdrawn or
expired, a residence assignment, a first registration; or the case's clock, its latest
recording instant, passing a consent's last day), the case is judged again as a whole:
its history is read back from the topics (one partition per topic, up to the positions the
view has passed), and the view's rows for it are replaced. So a Jobcenter receives the
history of a handed-over case, and a partner's rows go with the consent that allowed them.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict
from datetime import UTC, date, datetime, time
from enum import StrEnum
from typing import Any, Final
from uuid import UUID

import structlog
from aiokafka import TopicPartition
from pydantic import BaseModel

from contracts.common import Site
from contracts.envelope import Agency, Envelope
from contracts.intake import (
    ConsentExpired,
    ConsentGiven,
    ConsentWithdrawn,
    DataCategory,
    HandOverAccepted,
    Partner,
    PersonErased,
    PersonRegistered,
    Purpose,
    WohnsitzauflageImposed,
)
from contracts.personal import Sealed
from contracts.topics import CODECS, DOMAIN_TOPICS
from services.chassis import generations
from services.chassis.keyclient import KeySource, opened
from services.chassis.projection import ConsumedEvent, DbConnection
from services.projections.purpose import (
    CaseFacts,
    ConsentFacts,
    Grant,
    Responsibility,
    ViewId,
    awaits_consented_data,
    case_facts,
    disclosure,
    evolve,
)

log = structlog.get_logger("projection.agency")

# Events after which what a view may see of the whole case can change.
REJUDGING: Final = (
    PersonRegistered,
    HandOverAccepted,
    ConsentGiven,
    ConsentWithdrawn,
    ConsentExpired,
    WohnsitzauflageImposed,
    PersonErased,  # the key is gone: re-judged, no personal field can be opened any more
)

History = Callable[[UUID, Mapping[TopicPartition, int]], Awaitable[list[Envelope[Any]]]]


class AgencyView:
    """The projection handler of one ``ViewId``."""

    def __init__(self, view: ViewId, keys: KeySource, history: History) -> None:
        self.view = view
        self._keys = keys
        self._history = history
        self._stored: dict[TopicPartition, int] = {}
        self._in_batch: dict[UUID, list[Envelope[Any]]] = {}
        # Events this process read before their case's registration, per case (all of them
        # since the case was marked early): the registration judges them without a history
        # read. Lost with the process; the history read is the fallback.
        self._early: dict[UUID, dict[UUID, Envelope[Any]]] = {}
        # Whether reads are served from the generation this handler writes (not a rebuild's
        # yet), and the disclosure log rows the batch under way wrote, per case: neither a
        # rebuild's rows nor those of an uncommitted batch have been shown to anyone.
        self._served: bool | None = None
        self._logged_in_batch: dict[UUID, set[UUID]] = {}

    async def start_batch(self, conn: DbConnection) -> None:
        rows = await conn.fetch('SELECT topic, "partition", "offset" FROM projection_positions')
        self._stored = {TopicPartition(r["topic"], r["partition"]): r["offset"] for r in rows}
        self._in_batch = {}
        self._logged_in_batch = {}
        if self._served is None:
            self._served = await _served(conn)

    async def apply(self, conn: DbConnection, event: ConsumedEvent) -> None:
        if event.topic not in DOMAIN_TOPICS:
            return
        envelope = CODECS[event.topic].parse(event.value)
        with structlog.contextvars.bound_contextvars(
            case_id=str(envelope.case_id), event_id=str(envelope.event_id)
        ):
            await self._apply(conn, envelope)
            log.info("event.projected", view=self.view.value, event_type=envelope.type)

    async def _apply(self, conn: DbConnection, envelope: Envelope[Any]) -> None:
        case_id = envelope.case_id
        self._in_batch.setdefault(case_id, []).append(envelope)
        row = await conn.fetchrow(
            "SELECT facts::text, last_day FROM case_facts WHERE case_id = $1", case_id
        )
        registration = isinstance(envelope.data, PersonRegistered)
        early, cached = False, None
        if registration:
            early, cached = await _registered(conn, case_id), self._early.pop(case_id, None)
        elif row is None:
            if await _mark_if_early(conn, case_id):
                self._early[case_id] = {}  # the first early event: the cache starts complete
            if case_id in self._early:
                self._early[case_id][envelope.event_id] = envelope
        if isinstance(envelope.data, PersonErased):
            self._keys.forget(case_id)  # a cached key must not outlive the erasure
            await conn.execute(
                "INSERT INTO public.erasures (case_id, erased_on) VALUES ($1, $2)"
                " ON CONFLICT (case_id) DO NOTHING",
                case_id,
                envelope.data.erased_on,
            )
        if isinstance(envelope.data, REJUDGING):
            # A first registration is judged alone, unless events of the case came first.
            if early and cached is not None:
                await self._judge_case(conn, case_id, earlier=list(cached.values()))
            else:
                read_back = row is not None or early or not registration
                await self._judge_case(conn, case_id, read_back=read_back)
            return
        if row is None:
            return  # nothing of this case is the view's to hold (yet)
        facts = evolve(facts_from_json(row["facts"]), recorded_payload(envelope))
        now = max(row["last_day"], envelope.occurred_at)
        if facts.consent_lapses(row["last_day"], now):
            # The case's clock passed a consent's last day: what it opened goes for the whole
            # case, as a judgement of all of its events would find (whatever was read first).
            await self._judge_case(conn, case_id, read_back=True)
            return
        await _save_facts(conn, envelope.case_id, facts, now)
        grant = disclosure(self.view, envelope.data, facts, now, recorded_on=envelope.occurred_at)
        if grant is not None:
            await self._hold(conn, envelope, grant)

    async def _judge_case(
        self,
        conn: DbConnection,
        case_id: UUID,
        *,
        read_back: bool = False,
        earlier: list[Envelope[Any]] | None = None,
    ) -> None:
        """Judge every event of the case with the facts as they stand now: ``earlier`` ones
        given, or (``read_back``) read back from the topics, and the batch's."""
        if earlier is None:
            bounds = {tp: offset + 1 for tp, offset in self._stored.items()}
            earlier = await self._history(case_id, bounds) if read_back else []
        events = merged(earlier, self._in_batch.get(case_id, []))
        facts = case_facts(recorded_payload(e) for e in events)
        now = max(e.occurred_at for e in events)
        await conn.execute("DELETE FROM case_events WHERE case_id = $1", case_id)
        await self._take_back_unshown(conn, case_id)
        grants = [
            (e, g)
            for e in events
            if (g := disclosure(self.view, e.data, facts, now, recorded_on=e.occurred_at))
        ]
        if not grants:
            if awaits_consented_data(self.view, facts, now):
                await _save_facts(conn, case_id, facts, now)  # what the consent names may follow
            else:
                await conn.execute("DELETE FROM case_facts WHERE case_id = $1", case_id)
            return
        await _save_facts(conn, case_id, facts, now)
        for envelope, grant in grants:
            await self._hold(conn, envelope, grant)
        log.info(
            "view.case_judged",
            view=self.view.value,
            case_id=str(case_id),
            events=len(events),
            held=len(grants),
        )

    async def _hold(self, conn: DbConnection, envelope: Envelope[Any], grant: Grant) -> None:
        data = await self._readable(envelope)
        if grant.fields is not None:
            data = {k: v for k, v in data.items() if k in grant.fields or k == "type"}
        await conn.execute(
            "INSERT INTO case_events (event_id, case_id, type, category, occurred_at, read_only,"
            " data) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb) ON CONFLICT (event_id) DO UPDATE"
            " SET data = excluded.data, read_only = excluded.read_only",
            envelope.event_id,
            envelope.case_id,
            envelope.type,
            grant.category.value if grant.category else None,
            envelope.occurred_at,
            grant.read_only,
            _json(data),
        )
        row = (
            envelope.event_id,
            envelope.case_id,
            envelope.agency.value,
            self.view.value,
            grant.category.value if grant.category else None,
            grant.basis.value if grant.basis else None,
            grant.consent_id,
            envelope.occurred_at,
        )
        if not self._served:
            await conn.execute(LOG_UNSHOWN, *row)
        elif await conn.fetchval(LOG_SHOWN, *row):
            self._logged_in_batch.setdefault(envelope.case_id, set()).add(envelope.event_id)

    async def _take_back_unshown(self, conn: DbConnection, case_id: UUID) -> None:
        """Before the case is judged again: take back its log rows nobody has been shown yet
        (of the batch under way; of a generation not served yet, all), so that the log keeps
        what was shown, on the ground it was first shown on (see ``agency.sql``)."""
        if not self._served:
            await conn.execute("DELETE FROM disclosures_unshown WHERE case_id = $1", case_id)
            return
        logged = self._logged_in_batch.pop(case_id, set())
        if logged:
            await conn.execute(
                "DELETE FROM public.disclosures WHERE to_view = $1 AND event_id = ANY($2::uuid[])",
                self.view.value,
                list(logged),
            )

    async def _readable(self, envelope: Envelope[Any]) -> dict[str, Any]:
        return await readable(envelope, self._keys)


async def readable(envelope: Envelope[Any], keys: KeySource) -> dict[str, Any]:
    """The payload with personal fields opened (or left out when the key is gone)."""
    payload: BaseModel = await opened(envelope.data, envelope.case_id, keys)
    shown: dict[str, Any] = without_sealed(payload.model_dump(mode="json"))
    return shown


_LOG_COLUMNS: Final = (
    " (event_id, case_id, from_agency, to_view, category, legal_basis, consent_id, disclosed_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (event_id, to_view) DO NOTHING"
)
# An event logged for this view keeps its first row: the log says when and on what ground it
# was first shown (true: a row was written; none: it had been logged before).
LOG_SHOWN: Final = "INSERT INTO public.disclosures" + _LOG_COLUMNS + " RETURNING true"
LOG_UNSHOWN: Final = "INSERT INTO disclosures_unshown" + _LOG_COLUMNS


async def _served(conn: DbConnection) -> bool:
    """Whether reads are served from the generation ``conn`` writes into (a rebuild's is not,
    until the swap)."""
    pointer = await conn.fetchval("SELECT to_regclass('public.view_generation') IS NOT NULL")
    active = await conn.fetchval("SELECT active FROM public.view_generation") if pointer else None
    return bool(await conn.fetchval("SELECT current_schema()") == (active or generations.DEFAULT))


def merged(earlier: list[Envelope[Any]], in_batch: list[Envelope[Any]]) -> list[Envelope[Any]]:
    """A case's events read back and those of the batch under way, once each, in the order
    they were recorded. Once each also within the history: a relay may have published an event
    twice, and a hand-over or consent folded twice would change the facts."""
    once = {e.event_id: e for e in [*earlier, *in_batch]}
    return sorted(once.values(), key=lambda e: (e.occurred_at, e.stream_version))


def recorded_payload(envelope: Envelope[Any]) -> Any:  # noqa: PLR0911  # one arm per dated fact
    """The payload with the dates the rules compare put on the recording clock.

    The rules ask whether an event was recorded before responsibility passed, or while a
    consent held. Business dates may be back-dated and are only days; the view judges on one
    clock, the instant each event was recorded (aware datetimes compare like the dates the
    rules expect). A consent's ``valid_until`` stays a calendar limit, from its midnight.
    """
    data, at = envelope.data, envelope.occurred_at
    match data:
        case PersonRegistered():
            return data.model_copy(update={"allocated_on": at})
        case HandOverAccepted():
            return data.model_copy(update={"accepted_on": at})
        case WohnsitzauflageImposed():
            return data.model_copy(update={"effective_from": at})
        case ConsentGiven():
            until = data.valid_until
            limit = datetime.combine(until, time.min, UTC) if until is not None else None
            return data.model_copy(update={"given_on": at, "valid_until": limit})
        case ConsentWithdrawn():
            return data.model_copy(update={"withdrawn_on": at})
        case ConsentExpired():
            return data.model_copy(update={"expired_on": at})
    return data


def without_sealed(value: Any) -> Any:
    """Drop anything still sealed: a view never stores ciphertext it cannot read."""
    if isinstance(value, dict):
        if set(value) == set(Sealed.model_fields):
            return None
        return {k: without_sealed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_sealed(v) for v in value]
    return value


async def _registered(conn: DbConnection, case_id: UUID) -> bool:
    """Note the case as registered; whether events of it came before its registration."""
    await conn.execute(
        "INSERT INTO registered_cases (case_id) VALUES ($1) ON CONFLICT DO NOTHING", case_id
    )
    early = await conn.fetchval(
        "DELETE FROM early_cases WHERE case_id = $1 RETURNING true", case_id
    )
    return bool(early)


async def _mark_if_early(conn: DbConnection, case_id: UUID) -> bool:
    """An event of a case whose registration the view has not read yet: the partitions of
    the four topics are read in no particular order across topics (a catch-up, a rebuild),
    so the registration may come later; it then judges these events too. True when this
    marked the case (its first early event)."""
    marked = await conn.fetchval(
        "INSERT INTO early_cases (case_id) SELECT $1::uuid WHERE NOT EXISTS"
        " (SELECT 1 FROM registered_cases WHERE case_id = $1) ON CONFLICT DO NOTHING"
        " RETURNING true",
        case_id,
    )
    return bool(marked)


async def _save_facts(conn: DbConnection, case_id: UUID, facts: CaseFacts, now: datetime) -> None:
    await conn.execute(
        "INSERT INTO case_facts (case_id, facts, last_day) VALUES ($1, $2, $3)"
        " ON CONFLICT (case_id) DO UPDATE SET facts = excluded.facts, last_day = excluded.last_day",
        case_id,
        facts_to_json(facts),
        now,
    )


def facts_to_json(facts: CaseFacts) -> str:
    """The facts as JSON, their instants on the recording clock as ISO strings."""

    def encode(value: object) -> object:
        if isinstance(value, datetime | date | UUID | StrEnum):
            return str(value) if not isinstance(value, date) else value.isoformat()
        if isinstance(value, frozenset | set):
            return sorted(value, key=str)
        raise TypeError(type(value).__name__)

    return json.dumps(asdict(facts), default=encode)


def _instant(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def facts_from_json(stored: str) -> CaseFacts:
    """The facts back from JSON (built directly: they hold instants where the rules'
    dataclasses declare dates, which a validating parser would refuse)."""
    raw = json.loads(stored)
    return CaseFacts(
        site=Site(raw["site"]) if raw["site"] else None,
        responsibility=tuple(
            Responsibility(Agency(r["agency"]), _instant(r["since"]))  # type: ignore[arg-type]
            for r in raw["responsibility"]
        ),
        rechtskreiswechsel_on=_instant(raw["rechtskreiswechsel_on"]),
        wohnsitzauflage_from=_instant(raw["wohnsitzauflage_from"]),
        abh_obligations=frozenset((UUID(e), Agency(a)) for e, a in raw["abh_obligations"]),
        enrolments=frozenset((UUID(n), UUID(e)) for n, e in raw["enrolments"]),
        consents=tuple(
            ConsentFacts(
                consent_id=UUID(c["consent_id"]),
                purposes=frozenset(Purpose(p) for p in c["purposes"]),
                agencies=frozenset(Agency(a) for a in c["agencies"]),
                partners=frozenset(Partner(p) for p in c["partners"]),
                data_categories=frozenset(DataCategory(d) for d in c["data_categories"]),
                given_on=_instant(c["given_on"]),  # type: ignore[arg-type]
                valid_until=_instant(c["valid_until"]),
                ended_on=_instant(c["ended_on"]),
            )
            for c in raw["consents"]
        ),
    )


def _json(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False)
