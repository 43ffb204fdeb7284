"""What every page shares: the templates, the signed-in session, the backends, the clock.

Forms are plain HTML forms (no JavaScript): a refused command re-renders the page with the
service's reasons next to the fields and what was typed kept; an accepted one redirects
(303) to the case, after the view has caught up with it or a few seconds have passed.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl
from uuid import uuid4

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from services.chassis import clock
from services.chassis.identity import JwksVerifier
from services.web.backends import Backends
from services.web.forms import Outcome
from services.web.session import Session, session_of
from services.web.settings import WebSettings

templates = Jinja2Templates(directory=Path(__file__).with_name("templates"))
templates.env.globals.update(uuid=lambda: str(uuid4()), empty_outcome=Outcome())


def settings_of(request: Request) -> WebSettings:
    settings: WebSettings = request.app.state.settings
    return settings


def _backends(request: Request) -> Backends:
    backends: Backends = request.app.state.backends
    return backends


async def _session(request: Request) -> Session:
    verifying: JwksVerifier = request.app.state.identity
    return await session_of(request, verifying)


Signed = Annotated[Session, Depends(_session)]
Talk = Annotated[Backends, Depends(_backends)]


def today() -> date:
    """The day the pages judge on (what is overdue): today in Germany."""
    return clock.today()


def page(request: Request, name: str, code: int = 200, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context, status_code=code)


async def form_data(request: Request) -> dict[str, str]:
    return dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))
