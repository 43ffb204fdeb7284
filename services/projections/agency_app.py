"""A view process's composition root: the live view (projection + reads) and its read API.

Every view runs the same way: its own database, the live generation (``LiveView``) that a
rebuild can replace while reads go on, the four domain topics in a consumer group of its
own, person keys from intake, and a read API behind signed tokens. What differs between the
kinds of view (an agency's, steering) is in a ``ViewParts``: its tables, its projection
handler and its routes; ``views.parts_of`` says which a ``ViewId`` uses.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import resources
from typing import Any
from uuid import UUID

import asyncpg
import httpx
from aiokafka import TopicPartition
from fastapi import APIRouter, FastAPI, Response, status

from contracts.envelope import Envelope
from contracts.topics import DOMAIN_TOPICS
from services.chassis.http import service_app
from services.chassis.keyclient import IntakeKeyClient, intake_http
from services.chassis.liveview import LiveView
from services.chassis.oidc import verifier
from services.chassis.projection import (
    ProjectionHandler,
    ProjectionRunner,
    install_projection_schema,
)
from services.projections.agency import AgencyView
from services.projections.agency_api import configure_access, router
from services.projections.agency_settings import AgencyViewSettings, ViewProjectionSettings
from services.projections.history import HistoryReader

Install = Callable[[asyncpg.Pool], Awaitable[None]]
RunnerFactory = Callable[[asyncpg.Pool], ProjectionRunner]


@dataclass(frozen=True)
class ViewPorts:
    """What a view's projection talks to besides its database: intake's key API, and the
    topics again for a case's history."""

    keys: IntakeKeyClient
    history: HistoryReader


@dataclass(frozen=True)
class ViewParts:
    """What makes one kind of view."""

    description: str  # the read API's, for its OpenAPI page
    install: Install  # its tables, in the pool's generation
    handler: Callable[[ViewProjectionSettings, ViewPorts], ProjectionHandler]
    router: APIRouter
    tables: tuple[str, ...]  # the generation's tables a rebuild compares with the live one


def installer(view_sql: str) -> Install:
    """Install the runner's bookkeeping, ``view_sql`` (a file of this package) and the access
    log (in ``public``: reads are not derived from the topics, a rebuild keeps them)."""
    package = resources.files("services.projections")
    sql = "\n".join(package.joinpath(name).read_text() for name in (view_sql, "access_log.sql"))

    async def install(pool: asyncpg.Pool) -> None:
        await install_projection_schema(pool, sql)

    return install


def _agency_handler(settings: ViewProjectionSettings, ports: ViewPorts) -> ProjectionHandler:
    async def history(case_id: UUID, before: Mapping[TopicPartition, int]) -> list[Envelope[Any]]:
        return await ports.history.case_history(
            case_id, DOMAIN_TOPICS, settings.topic_partitions, before
        )

    return AgencyView(settings.agency_view, ports.keys, history)


AGENCY = ViewParts(
    description="What this agency may see under the purpose rules, the disclosure log and the"
    " access log; every read needs a signed token of the agency (Authorization: Bearer).",
    install=installer("agency.sql"),
    handler=_agency_handler,
    router=router,
    # Everything the generation derives from the topics (the disclosure log is in public:
    # kept, not rebuilt).
    tables=("case_facts", "case_events", "registered_cases", "early_cases"),
)


def runner_factory(
    settings: ViewProjectionSettings,
    parts: ViewParts,
    keys_http: httpx.AsyncClient,
    history: HistoryReader,
    *,
    group_id: str | None = None,
) -> RunnerFactory:
    """How to build the view's projection on a pool (live, or into a rebuild)."""
    view = settings.agency_view

    def make(pool: asyncpg.Pool) -> ProjectionRunner:
        return ProjectionRunner(
            name=view.value,
            pool=pool,
            kafka=settings.kafka,
            topics=DOMAIN_TOPICS,
            group_id=group_id or settings.agency_consumer_group or f"projection.{view.value}",
            max_batch=settings.agency_max_batch,
            handler=parts.handler(
                settings,
                ViewPorts(IntakeKeyClient(keys_http), history),
            ),
        )

    return make


def create_app(settings: AgencyViewSettings, parts: ViewParts = AGENCY) -> FastAPI:
    """The view's HTTP app, consuming while it lives."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with (
            intake_http(settings.intake_url, settings) as keys_http,
            HistoryReader(settings.kafka) as history,
        ):
            view = LiveView(
                settings.agency_database_url,
                parts.install,
                runner_factory(settings, parts, keys_http, history),
            )
            await view.start()
            app.state.view = view
            try:
                yield
            finally:
                await view.stop()
                await identity_http.aclose()

    app = service_app(
        title=f"Integration Points: view {settings.agency_view.value}",
        description=parts.description,
        lifespan=lifespan,
        router=parts.router,
    )
    identity_http = httpx.AsyncClient(timeout=10.0)  # the provider's keys (JWKS)
    configure_access(app, settings.agency_view, verifier(settings, identity_http))

    @app.get("/health")
    async def health(response: Response) -> dict[str, str]:
        """ok while the projection consumes; 503 once it has stopped."""
        view: LiveView | None = getattr(app.state, "view", None)
        if view is None or not view.consuming:
            response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
            return {"status": "projection stopped"}
        return {"status": "ok", "generation": view.generation}

    return app
