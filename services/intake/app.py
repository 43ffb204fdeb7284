"""Intake's composition root: builds the pool, the store, the keys and the HTTP app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources

import asyncpg
from fastapi import FastAPI

from contracts.intake import TOPIC, intake_envelope
from services.chassis.eventstore import PostgresEventStore, install_schema
from services.chassis.http import service_app
from services.intake.api import router
from services.intake.handlers import IntakePorts
from services.intake.keys import PostgresKeyStore
from services.intake.settings import IntakeSettings


def create_app(settings: IntakeSettings) -> FastAPI:
    """The intake HTTP app; its pool lives as long as the app runs."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await asyncpg.create_pool(settings.intake_database_url, min_size=2, max_size=10)
        try:
            schema = resources.files("services.intake").joinpath("schema.sql").read_text()
            await install_schema(pool, schema)
            app.state.intake = IntakePorts(
                store=PostgresEventStore(pool, TOPIC, intake_envelope),
                keys=PostgresKeyStore(pool),
                key_readers=settings.intake_key_readers,
            )
            yield
        finally:
            await pool.close()

    app = service_app(
        title="Integration Points: intake",
        description="Register persons allocated to a town and record the first contact.",
        lifespan=lifespan,
        router=router,
    )

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
