"""The partners' registry on a real database: a registry from before the key tokens and the
employers' organisations gains both columns once, keeps its partners, and registers each
employer under a name of its own."""

from __future__ import annotations

import asyncpg
import pytest

from contracts.intake import DataCategory, Partner, Purpose
from services.projections.forwarding import Subscription
from services.projections.partners import REGISTRY_SQL, registered

pytestmark = pytest.mark.postgres

FIRST_REGISTRY = """
CREATE TABLE public.partners (
    name          text PRIMARY KEY,
    purpose       text        NOT NULL,
    categories    text[]      NOT NULL,
    pseudonym_key bytea       NOT NULL,
    generation    integer     NOT NULL,
    added_at      timestamptz NOT NULL DEFAULT now(),
    revoked_at    timestamptz
)
"""


async def test_an_old_registry_gains_the_new_columns_and_keeps_its_partners(
    fresh_dsn: str,
) -> None:
    """IQ registered before tokens and organisations reads back as it was (no token); an
    employer stored beside it reads back as that one organisation, under its own name."""
    conn = await asyncpg.connect(fresh_dsn)
    try:
        await conn.execute(FIRST_REGISTRY)
        await conn.execute(
            "INSERT INTO public.partners (name, purpose, categories, pseudonym_key, generation)"
            " VALUES ('iq_counselling', 'recognition', '{recognition}', 'k', 1)"
        )
        await conn.execute(REGISTRY_SQL)
        await conn.execute(REGISTRY_SQL)  # a second look changes nothing
        await conn.execute(
            "INSERT INTO public.partners"
            " (name, purpose, categories, pseudonym_key, generation, organisation)"
            " VALUES ('employer_12345678', 'placement', '{placement,profile}', 'j', 1, '12345678')"
        )
        partners = {r.name: r for r in await registered(conn)}
    finally:
        await conn.close()

    iq, schmitz = partners["iq_counselling"], partners["employer_12345678"]
    assert iq.subscription == Subscription(
        Partner.IQ_COUNSELLING, Purpose.RECOGNITION, frozenset({DataCategory.RECOGNITION})
    )
    assert iq.key_token_hash is None
    assert schmitz.subscription == Subscription(
        Partner.EMPLOYER,
        Purpose.PLACEMENT,
        frozenset({DataCategory.PLACEMENT, DataCategory.PROFILE}),
        "12345678",
    )
    assert schmitz.schema == "partner_employer_12345678_1"
