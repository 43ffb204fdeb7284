"""The partner feed's keys on a real database: one key per person, consent and data
category, so a category's retention erasure deletes that category's keys only; a feed schema
from before keys were per category is migrated in place, its old keys kept until a category
of the person is erased."""

from __future__ import annotations

from collections.abc import AsyncIterator
from importlib import resources
from uuid import UUID

import asyncpg
import pytest

from contracts.intake import DataCategory
from services.projections.partner_keys import drop_category_keys, key_for

pytestmark = pytest.mark.postgres

CASE, CONSENT = UUID(int=1), UUID(int=2)
BEFORE_PER_CATEGORY = """
CREATE TABLE feed_keys (
    key_id     text PRIMARY KEY,
    case_id    uuid        NOT NULL,
    consent_id uuid        NOT NULL,
    person     text        NOT NULL,
    secret     bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (case_id, consent_id)
);
"""


def feed_schema() -> str:
    return resources.files("services.projections").joinpath("partner_feed.sql").read_text()


@pytest.fixture
async def conn(fresh_dsn: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(fresh_dsn)
    try:
        yield connection
    finally:
        await connection.close()


async def key_ids(conn: asyncpg.Connection) -> set[str]:
    return {r["key_id"] for r in await conn.fetch("SELECT key_id FROM feed_keys")}


async def test_each_category_has_its_own_key_and_goes_alone(conn: asyncpg.Connection) -> None:
    """Language and profile data of one person under one consent: two keys, each stable;
    erasing the language category deletes its key, the profile's stays."""
    await conn.execute(feed_schema())
    language = await key_for(conn, CASE, CONSENT, DataCategory.LANGUAGE, "p")
    profile = await key_for(conn, CASE, CONSENT, DataCategory.PROFILE, "p")

    assert language.key_id != profile.key_id
    assert (await key_for(conn, CASE, CONSENT, DataCategory.LANGUAGE, "p")) == language
    assert await drop_category_keys(conn, CASE, DataCategory.LANGUAGE) == 1
    assert await key_ids(conn) == {profile.key_id}


async def test_a_feed_from_before_keys_per_category_is_migrated(conn: asyncpg.Connection) -> None:
    """The old table (one key per person and consent) takes the new schema twice; the old key
    stays for what it sealed, new data gets keys per category, and a category erasure of the
    person deletes the old key too (it sealed that category as well)."""
    await conn.execute(BEFORE_PER_CATEGORY)
    await conn.execute(
        "INSERT INTO feed_keys (key_id, case_id, consent_id, person, secret)"
        " VALUES ('fk-old', $1, $2, 'p', '\\x00')",
        CASE,
        CONSENT,
    )

    await conn.execute(feed_schema())
    await conn.execute(feed_schema())
    profile = await key_for(conn, CASE, CONSENT, DataCategory.PROFILE, "p")
    language = await key_for(conn, CASE, CONSENT, DataCategory.LANGUAGE, "p")

    assert await key_ids(conn) == {"fk-old", profile.key_id, language.key_id}
    assert await drop_category_keys(conn, CASE, DataCategory.LANGUAGE) == 2
    assert await key_ids(conn) == {profile.key_id}
