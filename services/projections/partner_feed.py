"""One network partner's feed: the domain topics in, the partner's own topic out.

A projection handler like the agencies' views, on the same purpose rules (``forwarding``):
an event is passed on only while a valid consent names the partner, the subscription's
purpose and the event's data category; to an employer (one organisation per subscription)
only what an employer may see, cut to its fields (``forwarded_data``). What it passes on goes
through the feed's outbox in the same transaction as the consumed positions, so each message
is published at least once and the partner de-duplicates on ``notice_id``.

When a consent naming the partner arrives, the case's whole history is read back from the
topics as they stand *now* and judged with the facts folded from all of it: a partner
subscribed late receives the backlog of persons whose consent still holds, and nothing of
those whose consent has since ended. When a consent under which something was passed on
ends, the partner is told to delete it (``consent_ended``), once; when the person is erased,
to delete everything about the person (``erased``). What is passed on is sealed with a key of
the person and the consent (``partner_keys``), deleted in the same transaction as the notice
is written: the copies on the partner's topic become unreadable whatever the partner does.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, Final, Literal, TypedDict
from uuid import UUID, uuid5

import structlog

from contracts.envelope import Envelope
from contracts.intake import (
    CategoryErased,
    ConsentExpired,
    ConsentGiven,
    ConsentWithdrawn,
    Partner,
    PersonErased,
)
from contracts.partners import CategoryErased as CategoryErasedNotice
from contracts.partners import (
    ConsentEnded,
    Erased,
    ForwardedEvent,
    PartnerNotice,
    notice_headers,
)
from contracts.topics import CODECS, DOMAIN_TOPICS, partner_topic
from services.chassis.calendar import day_of
from services.chassis.keyclient import KeySource
from services.chassis.projection import ConsumedEvent, DbConnection, WritesAsItApplies
from services.projections.agency import (
    evolve_recorded,
    merged,
    readable,
    recorded_facts,
)
from services.projections.agency_rows import facts_from_json, facts_to_json
from services.projections.forwarding import (
    Subscription,
    forwarded_data,
    forwarding,
    names_subscriber,
)
from services.projections.partner_keys import (
    drop_category_keys,
    drop_consent_keys,
    drop_person_keys,
    key_for,
    seal_data,
)
from services.projections.purpose import CaseFacts, data_category

log = structlog.get_logger("projection.partner_feed")

# Message ids derive from the partner and what caused them: a replay sends the same ids.
NOTICES: Final = UUID("6f1d7c1e-2a0b-4c55-9a57-7d1c0b6c9e21")


class _Heading(TypedDict):
    notice_id: UUID
    partner: Partner
    person: str


CaseNow = Callable[[UUID], Awaitable[list[Envelope[Any]]]]
"""A case's events on the domain topics as they stand now (read back from Kafka)."""


def pseudonym(key: bytes, case_id: UUID) -> str:
    """The person's name for one partner: stable for it, meaningless to anyone else."""
    return hmac.new(key, case_id.bytes, hashlib.sha256).hexdigest()[:32]


class PartnerFeed(WritesAsItApplies):
    """The projection handler of one partner's subscription."""

    def __init__(
        self, subscription: Subscription, pseudonym_key: bytes, keys: KeySource, case_now: CaseNow
    ) -> None:
        self.subscription = subscription
        self.topic = partner_topic(subscription.name)
        self._key = pseudonym_key
        self._keys = keys
        self._case_now = case_now
        self._in_batch: dict[UUID, list[Envelope[Any]]] = {}

    async def start_batch(self, conn: DbConnection, events: Sequence[ConsumedEvent]) -> None:  # noqa: ARG002  # the protocol's
        self._in_batch = {}

    async def apply(self, conn: DbConnection, event: ConsumedEvent) -> None:
        if event.topic not in DOMAIN_TOPICS:
            return
        envelope = CODECS[event.topic].parse(event.value)
        case = envelope.case_id
        self._in_batch.setdefault(case, []).append(envelope)
        if isinstance(envelope.data, PersonErased):
            self._keys.forget(case)
            await self._erased(conn, envelope)
        if isinstance(envelope.data, ConsentGiven) and names_subscriber(
            self.subscription, envelope.data
        ):
            await self._judge_case(conn, case)
            return
        row = await conn.fetchrow(
            "SELECT facts::text, last_day FROM feed_facts WHERE case_id = $1", case
        )
        if row is None:
            return  # no consent has named the partner: nothing of this case is its to have
        facts, now = facts_from_json(row["facts"]), max(row["last_day"], envelope.occurred_at)
        if await conn.fetchval("SELECT 1 FROM feed_folded WHERE event_id = $1", envelope.event_id):
            now = row["last_day"]  # already folded by a read-back that looked ahead
        else:
            facts = evolve_recorded(facts, envelope)
            await self._save(conn, case, facts, now, [envelope])
        if isinstance(envelope.data, ConsentWithdrawn | ConsentExpired):
            await self._consent_ended(conn, envelope)
        if isinstance(envelope.data, CategoryErased):
            await self._category_erased(conn, envelope)
        consent = forwarding(
            self.subscription,
            envelope.data,
            facts,
            day_of(now),
            recorded_on=day_of(envelope.occurred_at),
            recorded_at=envelope.occurred_at,
        )
        if consent is not None:
            await self._forward(conn, envelope, consent)

    async def _judge_case(self, conn: DbConnection, case: UUID) -> None:
        """Fold the case's whole history as it stands now; pass on what the facts allow."""
        events = merged(await self._case_now(case), self._in_batch.get(case, []))
        facts = recorded_facts(events)
        now = max(e.occurred_at for e in events)
        await self._save(conn, case, facts, now, events)
        forwarded = 0
        for envelope in events:
            consent = forwarding(
                self.subscription,
                envelope.data,
                facts,
                day_of(now),
                recorded_on=day_of(envelope.occurred_at),
                recorded_at=envelope.occurred_at,
            )
            if consent is not None:
                forwarded += await self._forward(conn, envelope, consent)
        log.info(
            "partner_feed.case_judged",
            partner=self.subscription.name,
            case_id=str(case),
            events=len(events),
            forwarded=forwarded,
        )

    async def _save(
        self,
        conn: DbConnection,
        case: UUID,
        facts: CaseFacts,
        now: datetime,
        folded: list[Envelope[Any]],
    ) -> None:
        await conn.execute(
            "INSERT INTO feed_facts (case_id, facts, last_day) VALUES ($1, $2, $3)"
            " ON CONFLICT (case_id) DO UPDATE SET facts = excluded.facts,"
            " last_day = excluded.last_day",
            case,
            facts_to_json(facts),
            now,
        )
        await conn.executemany(
            "INSERT INTO feed_folded (event_id, case_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            [(e.event_id, case) for e in folded],
        )

    async def _forward(self, conn: DbConnection, envelope: Envelope[Any], consent: UUID) -> int:
        """Pass one event on (once); returns 1 if it was new."""
        category = data_category(envelope.type)
        if category is None:  # pragma: no cover - forwarding never grants the administration
            return 0
        inserted = await conn.fetchval(
            "INSERT INTO feed_forwarded (event_id, case_id, consent_id, category)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING 1",
            envelope.event_id,
            envelope.case_id,
            consent,
            category.value,
        )
        if not inserted:
            return 0
        heading = self._heading(envelope)
        key = await key_for(conn, envelope.case_id, consent, category, heading["person"])
        message = ForwardedEvent(
            **heading,
            consent_id=consent,
            purpose=self.subscription.purpose,
            category=category,
            event_type=envelope.type,
            occurred_at=envelope.occurred_at,
            data=seal_data(
                forwarded_data(
                    self.subscription, envelope.type, await readable(envelope, self._keys)
                ),
                key,
                heading["notice_id"],
            ),
        )
        await self._publish(conn, message)
        return 1

    async def _consent_ended(self, conn: DbConnection, envelope: Envelope[Any]) -> None:
        """Delete the consent's keys; tell the partner to delete what it received under the
        consent, if anything."""
        data = envelope.data
        await drop_consent_keys(conn, data.consent_id)
        used = await conn.fetchval(
            "SELECT count(*) FROM feed_forwarded WHERE consent_id = $1", data.consent_id
        )
        if not used:
            return
        reason: Literal["withdrawn", "expired"] = (
            "withdrawn" if isinstance(data, ConsentWithdrawn) else "expired"
        )
        first = await conn.fetchval(
            "INSERT INTO feed_notices (consent_id, case_id, reason) VALUES ($1, $2, $3)"
            " ON CONFLICT DO NOTHING RETURNING 1",
            data.consent_id,
            envelope.case_id,
            reason,
        )
        if first:
            await self._publish(
                conn,
                ConsentEnded(
                    **self._heading(envelope),
                    consent_id=data.consent_id,
                    reason=reason,
                    ended_at=envelope.occurred_at,
                ),
            )

    async def _category_erased(self, conn: DbConnection, envelope: Envelope[Any]) -> None:
        """A retention period of one category ran out: delete that category's keys of the
        person; tell the partner to delete what it received of it, if anything (Art. 19)."""
        category = envelope.data.category
        dropped = await drop_category_keys(conn, envelope.case_id, category)
        # The notice's id derives from the erasure event: a replay does not send it twice.
        used = await conn.fetchval(
            "SELECT count(*) FROM feed_forwarded WHERE case_id = $1 AND category = $2",
            envelope.case_id,
            category.value,
        )
        log.info(
            "partner_feed.category_erased",
            partner=self.subscription.partner.value,
            case_id=str(envelope.case_id),
            category=category.value,
            keys_deleted=dropped,
            notified=bool(used),
        )
        if used:
            await self._publish(
                conn,
                CategoryErasedNotice(
                    **self._heading(envelope), category=category, erased_at=envelope.occurred_at
                ),
            )

    async def _erased(self, conn: DbConnection, envelope: Envelope[Any]) -> None:
        """Delete every key of the person; tell the partner to delete everything about the
        person if anything was ever passed on (Art. 19 DSGVO: recipients learn of an erasure).
        Intake records one erasure per person, and the outbox takes a message id once."""
        dropped = await drop_person_keys(conn, envelope.case_id)
        used = await conn.fetchval(
            "SELECT count(*) FROM feed_forwarded WHERE case_id = $1", envelope.case_id
        )
        log.info(
            "partner_feed.person_erased",
            partner=self.subscription.name,
            case_id=str(envelope.case_id),
            keys_deleted=dropped,
            notified=bool(used),
        )
        if used:
            await self._publish(
                conn,
                Erased(**self._heading(envelope), erased_at=envelope.occurred_at),
            )

    def _heading(self, envelope: Envelope[Any]) -> _Heading:
        """What every message caused by ``envelope`` starts with; a replay: the same id."""
        return _Heading(
            notice_id=uuid5(NOTICES, f"{self.topic}:{envelope.event_id}"),
            partner=self.subscription.partner,
            person=pseudonym(self._key, envelope.case_id),
        )

    async def _publish(self, conn: DbConnection, message: PartnerNotice) -> None:
        await conn.execute(
            "INSERT INTO outbox (event_id, topic, key, payload, headers)"
            " VALUES ($1, $2, $3, $4, $5::jsonb) ON CONFLICT (event_id) DO NOTHING",
            message.notice_id,
            self.topic,
            message.person,
            message.model_dump_json().encode(),
            json.dumps(notice_headers(message)),
        )
