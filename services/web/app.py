"""The web's composition root: settings, one HTTP client for the backends, the pages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlencode

import httpx
from fastapi import APIRouter, FastAPI, Request, status
from fastapi.responses import RedirectResponse

from services.chassis.http import service_app
from services.chassis.oidc import verifier
from services.web import cases, signin, steering_page
from services.web.backends import Backends
from services.web.session import SignInRequiredError
from services.web.settings import WebSettings


def create_app(settings: WebSettings, transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    """The web app; ``transport`` replaces the network in handler tests."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with httpx.AsyncClient(timeout=15.0, transport=transport) as http:
            app.state.backends = Backends(settings, http)
            try:
                yield
            finally:
                await identity_http.aclose()

    router = APIRouter()
    for pages in (signin, cases, steering_page):
        router.include_router(pages.router)
    app = service_app(
        title="Integration Points: Fallbearbeitung",
        description="The case workers' web pages (German): caseload, timelines, commands, "
        "steering report. HTML, rendered on the server.",
        lifespan=lifespan,
        router=router,
    )
    app.state.settings = settings
    app.state.transport = transport  # the sign-in's token requests take it too
    identity_http = httpx.AsyncClient(timeout=10.0, transport=transport)  # the provider's JWKS
    app.state.identity = verifier(settings, identity_http)

    async def sign_in_required(request: Request, error: Exception) -> RedirectResponse:
        if isinstance(error, SignInRequiredError) and error.renewable and request.method == "GET":
            target = urlencode({"ziel": request.url.path})
            return RedirectResponse(f"/anmelden/erneuern?{target}", status.HTTP_303_SEE_OTHER)
        return RedirectResponse("/anmelden", status.HTTP_303_SEE_OTHER)

    app.add_exception_handler(SignInRequiredError, sign_in_required)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
