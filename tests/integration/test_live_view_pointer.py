"""A view process follows its generation pointer by the swap's notice, not by polling, and
still follows it after its listening connection was cut."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from services.chassis import generations
from services.chassis.liveview import LISTENER_NAME, LiveView

pytestmark = pytest.mark.postgres


async def _no_tables(pool: asyncpg.Pool) -> None:
    """A view without tables: the test watches the pointer only."""


async def _followed(view: LiveView, generation: str) -> bool:
    for _ in range(50):  # 5 s: a notice arrives in milliseconds, the safety net is 30 s away
        if view.generation == generation:
            return True
        await asyncio.sleep(0.1)
    return False


async def _swap(dsn: str, schema: str) -> None:
    admin = await asyncpg.connect(dsn)
    try:
        await admin.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        await generations.swap(admin, schema)
    finally:
        await admin.close()


async def test_a_swap_is_followed_by_its_notice_also_after_the_listener_was_cut(
    fresh_dsn: str,
) -> None:
    """A swap moves the view within seconds; after the server ended the listening connection
    the view connects again, reads the pointer, and follows the next swap too."""
    view = LiveView(fresh_dsn, _no_tables, None)
    await view.start()
    try:
        await _swap(fresh_dsn, "gen_a")
        assert await _followed(view, "gen_a")

        admin = await asyncpg.connect(fresh_dsn)
        try:
            cut = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                " AND application_name = $1",
                LISTENER_NAME,
            )
        finally:
            await admin.close()
        assert cut == 1  # the view's one listening connection

        await _swap(fresh_dsn, "gen_b")
        assert await _followed(view, "gen_b")
    finally:
        await view.stop()
