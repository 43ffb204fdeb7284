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
        """The person's key, created on first use."""
        fresh = PersonKey.generate(case_id, key_id=str(uuid7()))
        await self._pool.execute(
            "INSERT INTO person_keys (case_id, key_id, secret) VALUES ($1, $2, $3)"
            " ON CONFLICT (case_id) DO NOTHING",
            case_id,
            fresh.key_id,
            fresh.secret,
        )
        key = await self.find(case_id)
        if key is None:
            raise LookupError(f"the key of case {case_id} was erased")
        return key

    async def find(self, case_id: UUID) -> PersonKey | None:
        row = await self._pool.fetchrow(
            "SELECT key_id, secret FROM person_keys WHERE case_id = $1 AND secret IS NOT NULL",
            case_id,
        )
        return None if row is None else PersonKey(case_id, row["key_id"], bytes(row["secret"]))

    async def erase(self, case_id: UUID) -> None:
        """Delete the person's key: every sealed copy of their data becomes unreadable."""
        await self._pool.execute(
            "UPDATE person_keys SET secret = NULL, erased_at = coalesce(erased_at, now())"
            " WHERE case_id = $1",
            case_id,
        )

    async def lookup_for_reader(self, reader: str, case_id: UUID) -> PersonKey | None:
        """A key handed to an authenticated reader; the access is recorded either way."""
        key = await self.find(case_id)
        await self._pool.execute(
            "INSERT INTO key_access_log (reader, case_id, granted) VALUES ($1, $2, $3)",
            reader,
            case_id,
            key is not None,
        )
        return key
