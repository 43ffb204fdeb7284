"""The per-person data keys, held by intake only."""

from __future__ import annotations

from uuid import UUID

import asyncpg

from services.chassis.crypto import PersonKey
from services.chassis.ids import uuid7


class PostgresKeyStore:
    """Keys in intake's database; a reader's every lookup is logged."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def key_for(self, case_id: UUID) -> PersonKey:
        """The person's current key, created on first use."""
        fresh = PersonKey.generate(case_id, key_id=str(uuid7()))
        await self._pool.execute(
            "INSERT INTO person_keys (case_id, key_id, secret) VALUES ($1, $2, $3)"
            " ON CONFLICT (case_id) WHERE retired_at IS NULL DO NOTHING",
            case_id,
            fresh.key_id,
            fresh.secret,
        )
        key = await self.find(case_id)
        if key is None:
            raise LookupError(f"the key of case {case_id} was erased")
        return key

    async def find(self, case_id: UUID, key_id: str | None = None) -> PersonKey | None:
        """The key ``key_id`` of the person, or their current key; None once erased."""
        row = await self._pool.fetchrow(
            "SELECT key_id, secret FROM person_keys WHERE case_id = $1 AND secret IS NOT NULL"
            " AND (key_id = $2 OR ($2::text IS NULL AND retired_at IS NULL))",
            case_id,
            key_id,
        )
        return None if row is None else PersonKey(case_id, row["key_id"], bytes(row["secret"]))

    async def ring(self, case_id: UUID) -> list[PersonKey]:
        """Every key of the person that still exists, oldest first (opens their history)."""
        rows = await self._pool.fetch(
            "SELECT key_id, secret FROM person_keys WHERE case_id = $1 AND secret IS NOT NULL"
            " ORDER BY created_at, key_id",
            case_id,
        )
        return [PersonKey(case_id, row["key_id"], bytes(row["secret"])) for row in rows]

    async def rotate(self, case_id: UUID) -> PersonKey | None:
        """A new current key for the person; the old one is retired, not deleted: what it
        sealed stays as published. None when the person has no key (unknown or erased)."""
        fresh = PersonKey.generate(case_id, key_id=str(uuid7()))
        async with self._pool.acquire() as conn, conn.transaction():
            retired = await conn.fetchval(
                "UPDATE person_keys SET retired_at = clock_timestamp()"
                " WHERE case_id = $1 AND retired_at IS NULL AND secret IS NOT NULL"
                " RETURNING key_id",
                case_id,
            )
            if retired is None:
                return None
            await conn.execute(
                "INSERT INTO person_keys (case_id, key_id, secret, created_at)"
                " VALUES ($1, $2, $3, clock_timestamp())",
                case_id,
                fresh.key_id,
                fresh.secret,
            )
        return fresh

    async def erase(self, case_id: UUID) -> None:
        """Delete all the person's keys: every sealed copy of their data becomes unreadable."""
        await self._pool.execute(
            "UPDATE person_keys SET secret = NULL, erased_at = coalesce(erased_at, now())"
            " WHERE case_id = $1",
            case_id,
        )

    async def lookup_for_reader(
        self, reader: str, case_id: UUID, key_id: str | None = None
    ) -> PersonKey | None:
        """A key handed to an authenticated reader; the access is recorded either way."""
        key = await self.find(case_id, key_id)
        await self._pool.execute(
            "INSERT INTO key_access_log (reader, case_id, key_id, granted) VALUES ($1, $2, $3, $4)",
            reader,
            case_id,
            key_id,
            key is not None,
        )
        return key
