"""What a service's own database holds, for the API tests of language, placement and
recognition (each checks that a command stored its events and their outbox rows together)."""

from __future__ import annotations

from tests.conftest import fetch


async def stored(dsn: str) -> tuple[int, int]:
    """How many events and how many outbox rows the service's database holds."""
    rows = await fetch(
        dsn, "SELECT (SELECT count(*) FROM events) AS e, (SELECT count(*) FROM outbox) AS o"
    )
    return rows[0]["e"], rows[0]["o"]
