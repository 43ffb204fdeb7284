"""Generations of a view: each a schema in the view's own database; one is active.

A rebuild fills a fresh generation from the topics while the active one keeps serving, then
swaps the pointer in one statement. The live view process follows the pointer: it starts
consuming into the new generation from the positions the rebuild stored there, points its
reads at it, and lets the old one go. (A schema, not a second database: each view's role may
connect to its own database only, and that boundary stays.)
"""

from __future__ import annotations

import re

import asyncpg

DEFAULT = "public"  # where a view lives before its first rebuild
CHANNEL = "view_generation"
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

POINTER_SQL = """
CREATE TABLE IF NOT EXISTS public.view_generation (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    active     text        NOT NULL,
    swapped_at timestamptz NOT NULL DEFAULT now()
)
"""


def checked(schema: str) -> str:
    """A generation name that is safe to use as an identifier."""
    if not _NAME.match(schema):
        raise ValueError(f"not a generation name: {schema!r}")
    return schema


async def active(conn: asyncpg.Connection) -> str:
    """The generation reads and the live projection use now."""
    await conn.execute(POINTER_SQL)
    found = await conn.fetchval("SELECT active FROM public.view_generation")
    return checked(found) if found else DEFAULT


async def swap(conn: asyncpg.Connection, schema: str) -> None:
    """Make ``schema`` the active generation, and tell the live process."""
    await conn.execute(POINTER_SQL)
    await conn.execute(
        "INSERT INTO public.view_generation (active) VALUES ($1)"
        " ON CONFLICT (singleton) DO UPDATE SET active = excluded.active, swapped_at = now()",
        checked(schema),
    )
    await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, schema)


async def open_pool(dsn: str, schema: str, *, min_size: int = 2, max_size: int = 8) -> asyncpg.Pool:
    """A pool whose connections see ``schema`` first (then public, for the pointer)."""
    return await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        server_settings={"search_path": f"{checked(schema)},public"},
    )
