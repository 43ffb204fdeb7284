"""One agency's view, built through the purpose rules: it holds only what they grant.

Events of all four topics arrive, in order per case and topic but in no particular order
across topics; the facts the rules need are folded per case. When an event may change what
the view may see (a hand-over accepted, a consent given, withdrawn or
expired, a residence assignment, a first registration; or the case's clock, its latest
recording instant, passing the end of a consent's last day, midnight Europe/Berlin), the case
is judged again as a whole:
its history is read back from the topics (one partition per topic, up to the positions the
view has passed), and the view's rows for it are replaced. So a Jobcenter receives the
history of a handed-over case, and a partner's rows go with the consent that allowed them.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final
from uuid import UUID

import structlog
from aiokafka import TopicPartition
from pydantic import BaseModel

from contracts.envelope import Envelope
from contracts.intake import (
    CategoryErased,
    ConsentExpired,
    ConsentGiven,
    ConsentWithdrawn,
    HandOverAccepted,
    PersonErased,
    PersonRegistered,
    WohnsitzauflageImposed,
)
from contracts.personal import Sealed
from contracts.topics import CODECS, DOMAIN_TOPICS
from services.chassis import generations
from services.chassis.calendar import day_of
from services.chassis.keyclient import KeySource, opened
from services.chassis.projection import ConsumedEvent, DbConnection, keyed_cases
from services.projections.agency_rows import BatchRows, CaseRow
from services.projections.purpose import (
    CaseFacts,
    Grant,
    ViewId,
    awaits_consented_data,
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
    CategoryErased,  # a retention period ran out: the category's rows of the case go
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
        # yet): neither a rebuild's rows nor those of an uncommitted batch have been shown.
        self._served: bool | None = None
        self._rows = BatchRows(view.value, served=False)
        self._current: Envelope[Any] | None = None

    async def start_batch(self, conn: DbConnection, events: Sequence[ConsumedEvent]) -> None:
        rows = await conn.fetch('SELECT topic, "partition", "offset" FROM projection_positions')
        self._stored = {TopicPartition(r["topic"], r["partition"]): r["offset"] for r in rows}
        self._in_batch = {}
        if self._served is None:
            self._served = await _served(conn)
        self._rows = BatchRows(self.view.value, served=self._served)
        await self._rows.read(conn, keyed_cases(events))

    async def apply(self, conn: DbConnection, event: ConsumedEvent) -> None:
        if event.topic not in DOMAIN_TOPICS:
            return
        envelope = CODECS[event.topic].parse(event.value)
        self._current = envelope
        with structlog.contextvars.bound_contextvars(
            case_id=str(envelope.case_id), event_id=str(envelope.event_id)
        ):
            await self._apply(conn, envelope)
            log.info("event.projected", view=self.view.value, event_type=envelope.type)

    async def flush(self, conn: DbConnection) -> None:
        await self._rows.flush(conn)

    def drop_unflushed(self) -> None:
        """The failed event is no part of the batch, nor of its case's early events."""
        self._rows.drop()
        failed, self._current = self._current, None
        if failed is not None:
            kept = [e for e in self._in_batch.get(failed.case_id, []) if e is not failed]
            self._in_batch[failed.case_id] = kept
            self._early.get(failed.case_id, {}).pop(failed.event_id, None)

    async def _apply(self, conn: DbConnection, envelope: Envelope[Any]) -> None:
        case_id = envelope.case_id
        self._in_batch.setdefault(case_id, []).append(envelope)
        row = await self._rows.row(conn, case_id)
        registration = isinstance(envelope.data, PersonRegistered)
        early, cached = False, None
        if registration:
            early = await self._rows.registered(conn, case_id)
            cached = self._early.pop(case_id, None)
        elif row is None:
            if await self._rows.mark_if_early(conn, case_id):
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
                await self._judge_case(case_id, earlier=list(cached.values()))
            else:
                read_back = row is not None or early or not registration
                await self._judge_case(case_id, read_back=read_back)
            return
        if row is None:
            return  # nothing of this case is the view's to hold (yet)
        facts = evolve_recorded(row.facts, envelope)
        now = max(row.last_day, envelope.occurred_at)
        if facts.consent_lapses(day_of(row.last_day), day_of(now)):
            # The case's clock passed a consent's last day: what it opened goes for the whole
            # case, as a judgement of all of its events would find (whatever was read first).
            await self._judge_case(case_id, read_back=True)
            return
        self._rows.save(case_id, CaseRow(facts, now))
        grant = judged(self.view, envelope, facts, now)
        if grant is not None:
            await self._hold(envelope, grant)

    async def _judge_case(
        self,
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
        facts = recorded_facts(events)
        now = max(e.occurred_at for e in events)
        self._rows.clear(case_id)
        grants = [(e, g) for e in events if (g := judged(self.view, e, facts, now))]
        if not grants:
            # What the consent names may follow: the facts stay for judging it.
            awaited = awaits_consented_data(self.view, facts, day_of(now))
            self._rows.save(case_id, CaseRow(facts, now) if awaited else None)
            return
        self._rows.save(case_id, CaseRow(facts, now))
        for envelope, grant in grants:
            await self._hold(envelope, grant)
        if len(events) == 1:
            return  # a first registration: the event's own log line says it
        log.info(
            "view.case_judged",
            view=self.view.value,
            case_id=str(case_id),
            events=len(events),
            held=len(grants),
        )

    async def _hold(self, envelope: Envelope[Any], grant: Grant) -> None:
        data = await readable(envelope, self._keys)
        if grant.fields is not None:
            data = {k: v for k, v in data.items() if k in grant.fields or k == "type"}
        category = grant.category.value if grant.category else None
        self._rows.hold(
            (
                envelope.event_id,
                envelope.case_id,
                envelope.type,
                category,
                envelope.occurred_at,
                grant.read_only,
                _json(data),
                envelope.agency.value,
                envelope.actor.role if envelope.actor else None,
                envelope.actor.reference if envelope.actor else None,
            ),
            (
                envelope.event_id,
                envelope.case_id,
                envelope.agency.value,
                self.view.value,
                category,
                grant.basis.value if grant.basis else None,
                grant.consent_id,
                envelope.occurred_at,
            ),
        )


async def readable(envelope: Envelope[Any], keys: KeySource) -> dict[str, Any]:
    """The payload with personal fields opened (or left out when the key is gone)."""
    payload: BaseModel = await opened(envelope.data, envelope.case_id, keys)
    shown: dict[str, Any] = without_sealed(payload.model_dump(mode="json"))
    return shown


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
    """The payload with the dates the rules compare put on the recording calendar.

    The rules ask whether an event was recorded before responsibility passed, or while a
    consent held. Business dates may be back-dated; the view judges on one calendar, the
    German day each event was recorded (still a ``date``: the instant of recording comes
    beside it, see ``evolve_recorded``). A consent's ``valid_until`` stays its last day.
    """
    data, day = envelope.data, day_of(envelope.occurred_at)
    match data:
        case PersonRegistered():
            return data.model_copy(update={"allocated_on": day})
        case HandOverAccepted():
            return data.model_copy(update={"accepted_on": day})
        case WohnsitzauflageImposed():
            return data.model_copy(update={"effective_from": day})
        case ConsentGiven():
            return data.model_copy(update={"given_on": day})
        case ConsentWithdrawn():
            return data.model_copy(update={"withdrawn_on": day})
        case ConsentExpired():
            return data.model_copy(update={"expired_on": day})
        case CategoryErased():
            return data.model_copy(update={"erased_on": day})
    return data


def evolve_recorded(facts: CaseFacts, envelope: Envelope[Any]) -> CaseFacts:
    """The facts after an event as the views fold it: on its recording day, ordered within
    that day by the instant it was recorded."""
    return evolve(facts, recorded_payload(envelope), envelope.occurred_at)


def recorded_facts(envelopes: Sequence[Envelope[Any]]) -> CaseFacts:
    """A case's facts from its events, in the order given, as the views fold them."""
    facts = CaseFacts()
    for envelope in envelopes:
        facts = evolve_recorded(facts, envelope)
    return facts


def judged(view: ViewId, envelope: Envelope[Any], facts: CaseFacts, now: datetime) -> Grant | None:
    """The purpose rules' answer for one event, judged at ``now`` (the case's clock)."""
    return disclosure(
        view,
        envelope.data,
        facts,
        day_of(now),
        recorded_on=day_of(envelope.occurred_at),
        recorded_at=envelope.occurred_at,
    )


def without_sealed(value: Any) -> Any:
    """Drop anything still sealed: a view never stores ciphertext it cannot read."""
    if isinstance(value, dict):
        if set(value) == set(Sealed.model_fields):
            return None
        return {k: without_sealed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_sealed(v) for v in value]
    return value


def _json(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False)
