"""An agency view's composition root: the live view (projection + reads) and its read API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any
from uuid import UUID

import asyncpg
import httpx
from aiokafka import TopicPartition
from fastapi import FastAPI, Response, status

from contracts.envelope import Envelope
from contracts.topics import DOMAIN_TOPICS
from services.chassis.http import service_app
from services.chassis.keyclient import IntakeKeyClient
from services.chassis.liveview import LiveView
from services.chassis.projection import ProjectionRunner, install_projection_schema
from services.projections.agency import AgencyView
from services.projections.agency_api import configure_access, router
from services.projections.agency_settings import AgencyViewSettings
from services.projections.history import case_history


async def install(pool: asyncpg.Pool) -> None:
    """The view's tables and the runner's bookkeeping, in the pool's generation."""
    sql = resources.files("services.projections").joinpath("agency.sql").read_text()
    await install_projection_schema(pool, sql)


def runner_factory(
    settings: AgencyViewSettings, keys_http: httpx.AsyncClient
) -> Callable[[asyncpg.Pool], ProjectionRunner]:
    view = settings.agency_view

    async def history(case_id: UUID, before: Mapping[TopicPartition, int]) -> list[Envelope[Any]]:
        return await case_history(
            settings.kafka, case_id, DOMAIN_TOPICS, settings.topic_partitions, before
        )

    def make(pool: asyncpg.Pool) -> ProjectionRunner:
        return ProjectionRunner(
            name=view.value,
            pool=pool,
            kafka=settings.kafka,
            topics=DOMAIN_TOPICS,
            group_id=settings.agency_consumer_group or f"projection.{view.value}",
            max_batch=settings.agency_max_batch,
            handler=AgencyView(
                view, IntakeKeyClient(keys_http, settings.key_reader_token), history
            ),
        )

    return make


def create_app(settings: AgencyViewSettings) -> FastAPI:
    """The view's HTTP app, consuming while it lives."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with httpx.AsyncClient(base_url=settings.intake_url, timeout=10.0) as keys_http:
            view = LiveView(
                settings.agency_database_url, install, runner_factory(settings, keys_http)
            )
            await view.start()
            app.state.view = view
            try:
                yield
            finally:
                await view.stop()

    app = service_app(
        title=f"Integration Points: view {settings.agency_view.value}",
        description="What this agency may see under the purpose rules, the disclosure log and the"
        " access log; every read needs a signed token of the agency (Authorization: Bearer).",
        lifespan=lifespan,
        router=router,
    )
    configure_access(app, settings.agency_view, settings.token_secret)

    @app.get("/health")
    async def health(response: Response) -> dict[str, str]:
        """ok while the projection consumes; 503 once it has stopped."""
        view: LiveView | None = getattr(app.state, "view", None)
        if view is None or not view.consuming:
            response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
            return {"status": "projection stopped"}
        return {"status": "ok", "generation": view.generation}

    return app
