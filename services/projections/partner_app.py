"""The partner feed process: every registered partner's feed, and for integrators the
AsyncAPI of the partner topics as a page (``/``) and as JSON (``/asyncapi.json``).

``python -m services.projections.partner_app`` (``make run`` starts it as partners-feed).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import APIRouter, FastAPI, Response, status
from fastapi.responses import HTMLResponse

from services.chassis.http import service_app
from services.chassis.keyclient import IntakeKeyClient
from services.chassis.process import serve_http
from services.projections.partner_docs import asyncapi_document, html
from services.projections.partner_host import FeedHost
from services.projections.partner_settings import PartnerFeedSettings

router = APIRouter()


@router.get("/", response_class=HTMLResponse, summary="the partner topics, for integrators")
async def documentation() -> HTMLResponse:
    return HTMLResponse(html(json.loads(asyncapi_document())))


@router.get("/asyncapi.json", summary="the AsyncAPI 3.0 document of the partner topics")
async def asyncapi() -> Response:
    return Response(asyncapi_document(), media_type="application/json")


def create_app(settings: PartnerFeedSettings) -> FastAPI:
    """The feed process's HTTP app; the feeds run as long as it does."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with httpx.AsyncClient(base_url=settings.intake_url, timeout=10.0) as keys_http:
            host = FeedHost(settings, IntakeKeyClient(keys_http, settings.key_reader_token))
            stop = asyncio.Event()
            task = asyncio.create_task(host.run(stop))
            app.state.feeds = task
            try:
                yield
            finally:
                stop.set()
                await task

    app = service_app(
        title="Integration Points: network partners' feeds",
        description="Each registered partner's feed; the AsyncAPI of the partner topics.",
        lifespan=lifespan,
        router=router,
    )

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
