"""The Agentur view's composition root: the live view (projection + reads) and its API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from importlib import resources

import asyncpg
import httpx
from fastapi import FastAPI, Response, status

from services.chassis.http import service_app
from services.chassis.keyclient import IntakeKeyClient
from services.chassis.liveview import LiveView
from services.chassis.projection import ProjectionRunner, install_projection_schema
from services.projections import agentur_mg
from services.projections.api import router
from services.projections.settings import AgenturViewSettings


async def install(pool: asyncpg.Pool) -> None:
    """The view's tables and the runner's bookkeeping, in the pool's generation."""
    view_sql = resources.files("services.projections").joinpath("agentur_mg.sql").read_text()
    await install_projection_schema(pool, view_sql)


def runner_factory(
    settings: AgenturViewSettings, keys_http: httpx.AsyncClient, *, group_id: str | None = None
) -> Callable[[asyncpg.Pool], ProjectionRunner]:
    """How to build the Agentur projection on a pool (live, or into a rebuild)."""

    def make(pool: asyncpg.Pool) -> ProjectionRunner:
        return ProjectionRunner(
            name=agentur_mg.NAME,
            pool=pool,
            kafka=settings.kafka,
            topics=agentur_mg.TOPICS,
            group_id=group_id or settings.view_consumer_group,
            max_batch=settings.view_max_batch,
            handler=agentur_mg.AgenturView(IntakeKeyClient(keys_http, settings.key_reader_token)),
        )

    return make


def create_app(settings: AgenturViewSettings, *, consume: bool = True) -> FastAPI:
    """The view's HTTP app; with ``consume`` it also runs the projection while it lives."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with httpx.AsyncClient(base_url=settings.intake_url, timeout=10.0) as keys_http:
            view = LiveView(
                settings.view_database_url,
                install,
                runner_factory(settings, keys_http) if consume else None,
            )
            await view.start()
            app.state.view = view
            try:
                yield
            finally:
                await view.stop()

    app = service_app(
        title="Integration Points: view of the Agentur für Arbeit Mönchengladbach",
        description="Read API over the Agentur's projection of the district's cases.",
        lifespan=lifespan,
        router=router,
    )

    @app.get("/health")
    async def health(response: Response) -> dict[str, str]:
        """ok while the projection consumes; 503 once it has stopped, so a supervisor sees it."""
        view: LiveView | None = getattr(app.state, "view", None)
        if view is None or not view.consuming:
            response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
            return {"status": "projection stopped"}
        return {"status": "ok", "generation": view.generation}

    return app
