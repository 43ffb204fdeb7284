"""The partner feed process: every registered partner's feed; for partners the keys of what
they received (``/keys/{key_id}``, with the token ``partners add`` gave them); and for
integrators the AsyncAPI of the partner topics as a page (``/``) and as JSON
(``/asyncapi.json``), and the services' documents it links (``/asyncapi/<service>.json``).

``python -m services.projections.partner_app`` (``make run`` starts it as partners-feed).
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import asyncpg
import structlog
from fastapi import APIRouter, FastAPI, HTTPException, Path, Request, Response, status
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from services.chassis.bearer import ReaderSecret, reader_responses
from services.chassis.http import service_app
from services.chassis.keyclient import IntakeKeyClient, intake_http
from services.chassis.process import serve_http
from services.chassis.projection import DbConnection
from services.projections.partner_docs import DOCS, SERVICE_DOCUMENTS, asyncapi_document, html
from services.projections.partner_host import FeedHost
from services.projections.partner_keys import find_key, token_matches
from services.projections.partner_settings import PartnerFeedSettings
from services.projections.partners import Registered, registered

log = structlog.get_logger("partner_app")

router = APIRouter()
keys_router = APIRouter()


class FeedKeyOut(BaseModel):
    """A key of what the partner received; the partner opens ``data`` with it."""

    key_id: str
    person: str
    secret: str  # base64 of the 32-byte AES-256-GCM key


@router.get("/", response_class=HTMLResponse, summary="the partner topics, for integrators")
async def documentation() -> HTMLResponse:
    return HTMLResponse(html(json.loads(asyncapi_document())))


@router.get("/asyncapi.json", summary="the AsyncAPI 3.0 document of the partner topics")
async def asyncapi() -> Response:
    return Response(asyncapi_document(), media_type="application/json")


@router.get(
    "/asyncapi/{service}.json",
    summary="a service's AsyncAPI document: the fields of its events, which a partner opens",
    responses={404: {"description": "no such service"}},
)
async def service_asyncapi(service: Annotated[str, Path(max_length=32)]) -> Response:
    if service not in SERVICE_DOCUMENTS or not (DOCS / f"{service}.json").is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such service document")
    return Response((DOCS / f"{service}.json").read_bytes(), media_type="application/json")


@keys_router.get(
    "/keys/{key_id}",
    response_model=FeedKeyOut,
    summary="a key of what the partner received; 404 once the consent ended or the person "
    "was erased",
    responses=reader_responses("no such key (the consent ended, or the person was erased)"),
)
async def feed_key(
    key_id: Annotated[str, Path(max_length=64)],
    request: Request,
    token: ReaderSecret,
) -> FeedKeyOut:
    pool: asyncpg.Pool = request.app.state.keys_pool
    async with pool.acquire() as conn:
        partner = await _partner(conn, token)
        key = await find_key(conn, partner.schema, key_id)
    log.info(
        "partner_key.requested",
        partner=partner.name,
        key_id=key_id,
        granted=key is not None,
    )
    if key is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such key (consent ended or erased)")
    return FeedKeyOut(
        key_id=key.key_id, person=key.person, secret=base64.b64encode(key.secret).decode()
    )


async def _partner(conn: DbConnection, token: str) -> Registered:
    """The active partner whose token this is (a revoked partner's token opens nothing)."""
    for partner in await registered(conn):
        if partner.revoked_at is None and token_matches(token, partner.key_token_hash):
            return partner
    raise HTTPException(status.HTTP_403_FORBIDDEN, "not a partner's token")


def create_app(settings: PartnerFeedSettings) -> FastAPI:
    """The feed process's HTTP app; the feeds run as long as it does."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with (
            intake_http(settings.intake_url, settings) as keys_http,
            asyncpg.create_pool(settings.partners_database_url, min_size=1, max_size=4) as pool,
        ):
            host = FeedHost(settings, IntakeKeyClient(keys_http))
            stop = asyncio.Event()
            task = asyncio.create_task(host.run(stop))
            app.state.host, app.state.feeds, app.state.keys_pool = host, task, pool
            try:
                yield
            finally:
                stop.set()
                await task

    app = service_app(
        title="Integration Points: network partners' feeds",
        description="Each registered partner's feed and the keys of what it received; the "
        "AsyncAPI of the partner topics.",
        lifespan=lifespan,
        router=router,
    )
    app.include_router(keys_router)

    @app.get("/health")
    async def health(response: Response) -> dict[str, str]:
        """ok while the feeds run; 503 once they have stopped."""
        task: asyncio.Task[None] | None = getattr(app.state, "feeds", None)
        if task is None or task.done():
            response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
            return {"status": "feeds stopped"}
        return {"status": "ok"}

    return app


def main() -> None:
    settings = PartnerFeedSettings()
    serve_http(
        "partners-feed",
        settings,
        create_app,
        host=settings.partners_host,
        port=settings.partners_port,
    )


if __name__ == "__main__":
    main()
