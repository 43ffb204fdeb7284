"""The Agentur view's composition root: pool, key client, runner task and read API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources

import asyncpg
import httpx
import structlog
from fastapi import FastAPI, Response, status

from services.chassis.http import service_app
from services.chassis.keyclient import IntakeKeyClient
from services.chassis.projection import ProjectionRunner, install_projection_schema
from services.projections import agentur_mg
from services.projections.api import router
from services.projections.settings import AgenturViewSettings

log = structlog.get_logger("projection.app")


def _report_end(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("projection.crashed", exc_info=task.exception())


def create_app(settings: AgenturViewSettings, *, consume: bool = True) -> FastAPI:
    """The view's HTTP app; with ``consume`` it also runs the projection while it lives."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await asyncpg.create_pool(settings.view_database_url, min_size=2, max_size=8)
        keys_http = httpx.AsyncClient(base_url=settings.intake_url, timeout=10.0)
        stop = asyncio.Event()
        runner_task: asyncio.Task[None] | None = None
        try:
            view_sql = resources.files("services.projections").joinpath("agentur_mg.sql")
            await install_projection_schema(pool, view_sql.read_text())
            app.state.pool = pool
            if consume:
                runner = ProjectionRunner(
                    name=agentur_mg.NAME,
                    pool=pool,
                    bootstrap=settings.kafka_bootstrap,
                    topics=agentur_mg.TOPICS,
                    group_id=settings.view_consumer_group,
                    max_batch=settings.view_max_batch,
                    handler=agentur_mg.AgenturView(
                        IntakeKeyClient(keys_http, settings.key_reader_token)
                    ),
                )
                app.state.runner = runner
                runner_task = asyncio.create_task(runner.run(stop), name="projection.aa_mg")
                runner_task.add_done_callback(_report_end)
                app.state.runner_task = runner_task
            yield
        finally:
            stop.set()
            if runner_task is not None:
                await runner_task
            await keys_http.aclose()
            await pool.close()

    app = service_app(
        title="Integration Points: view of the Agentur für Arbeit Mönchengladbach",
        description="Read API over the Agentur's projection of the district's cases.",
        lifespan=lifespan,
        router=router,
    )

    @app.get("/health")
    async def health(response: Response) -> dict[str, str]:
        """ok while the projection consumes; 503 once it has stopped, so a supervisor sees it."""
        task: asyncio.Task[None] | None = getattr(app.state, "runner_task", None)
        if consume and (task is None or task.done()):
            response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
            return {"status": "projection stopped"}
        return {"status": "ok"}

    return app
