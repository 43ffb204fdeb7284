"""A case held behind its first parked message, until a replay of that message arrives.

Shared by the projection runner and the reactions: once a message of a case is parked on
the dead-letter topic, the case's later messages are parked behind it (never applied out of
order), while other cases keep flowing. ``python -m services.chassis.deadletters replay``
publishes the case's parked messages back in order, the first marked ``dlq.replayed_from``;
its arrival releases the case.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeAlias
from uuid import UUID

import asyncpg
from asyncpg.pool import PoolConnectionProxy

Db: TypeAlias = asyncpg.Connection | PoolConnectionProxy | asyncpg.Pool

REPLAYED_FROM = "dlq.replayed_from"  # header of a message published back from the dead letters


class CaseParking:
    """The held cases of one consumer, in the consumer's own database (``parked_keys``).

    ``namespace`` separates consumers that share a database (a service's reactions); a
    projection has its database to itself and keys by case id alone.
    """

    def __init__(self, namespace: str = "") -> None:
        self._prefix = f"{namespace}:" if namespace else ""

    async def held(self, db: Db, cases: set[str]) -> dict[str, str]:
        """Which of ``cases`` are held, each with the event id of the message that holds it."""
        rows = await db.fetch(
            "SELECT key, first_event_id FROM parked_keys WHERE key = ANY($1::text[])",
            [self._prefix + case for case in cases],
        )
        return {row["key"][len(self._prefix) :]: str(row["first_event_id"]) for row in rows}

    async def hold(self, db: Db, case: str, first_event_id: UUID | None) -> None:
        """Hold ``case`` behind the parked message ``first_event_id`` (the first one wins)."""
        await db.execute(
            "INSERT INTO parked_keys (key, first_event_id) VALUES ($1, $2)"
            " ON CONFLICT (key) DO NOTHING",
            self._prefix + case,
            first_event_id,
        )

    async def releases(
        self,
        db: Db,
        case: str,
        event_id: UUID | None,
        headers: Mapping[str, str],
        held: dict[str, str],
    ) -> bool:
        """True (and the case released) when this message is the replay of the one that
        holds ``case``; ``held`` is updated to match."""
        if headers.get(REPLAYED_FROM) is None or str(event_id) != held.get(case):
            return False
        await db.execute("DELETE FROM parked_keys WHERE key = $1", self._prefix + case)
        del held[case]
        return True
