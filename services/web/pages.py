"""The pages: sign-in, caseload, a case with its timeline and forms, registration, steering.

Forms are plain HTML forms (no JavaScript): a refused command re-renders the page with the
service's reasons next to the fields and what was typed kept; an accepted one redirects
(303) to the case, after the view has caught up with it or a few seconds have passed.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, Final
from urllib.parse import parse_qsl, urlencode
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from contracts.common import Site
from contracts.intake import Purpose
from services.chassis.auth import TokenError, verify
from services.projections.agency_api import Role
from services.projections.steering import Rechtskreis
from services.web import caseload, charts, timeline
from services.web.backends import Backends, ViewUnavailableError
from services.web.forms import CASE_FORMS, FORMS, REGISTER, CommandForm, Outcome, command_body
from services.web.forms import refusal as refusal_of
from services.web.session import (
    AGENCY_NAMES,
    COOKIE,
    LIFETIME,
    PURPOSE_NAMES,
    ROLE_NAMES,
    Session,
    dev_token,
    session_of,
)
from services.web.settings import WebSettings

router = APIRouter()
templates = Jinja2Templates(directory=Path(__file__).with_name("templates"))
templates.env.globals.update(uuid=lambda: str(uuid4()), empty_outcome=Outcome())

CATCH_UP_SECONDS: Final = 10.0  # how long an accepted command waits for the view


def _settings(request: Request) -> WebSettings:
    settings: WebSettings = request.app.state.settings
    return settings


def _backends(request: Request) -> Backends:
    backends: Backends = request.app.state.backends
    return backends


def _session(request: Request) -> Session:
    return session_of(request, _settings(request).token_secret.get_secret_value())


Signed = Annotated[Session, Depends(_session)]
Talk = Annotated[Backends, Depends(_backends)]


def _today() -> date:
    return datetime.now(UTC).date()


def _page(request: Request, name: str, code: int = 200, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context, status_code=code)


async def _form_data(request: Request) -> dict[str, str]:
    return dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))


# --- sign-in --------------------------------------------------------------------------------


def _sign_in_page(request: Request, error: str | None = None, code: int = 200) -> HTMLResponse:
    return _page(
        request,
        "anmelden.html",
        code,
        dev=_settings(request).web_dev_sign_in,
        agencies=AGENCY_NAMES,
        roles=ROLE_NAMES,
        purposes=PURPOSE_NAMES,
        error=error,
    )


@router.get("/anmelden", response_class=HTMLResponse)
async def sign_in_form(request: Request) -> HTMLResponse:
    return _sign_in_page(request)


@router.post("/anmelden", response_model=None)
async def sign_in(request: Request) -> Response:
    """A token pasted from the issuer, or (dev sign-in only) one issued here."""
    settings = _settings(request)
    secret = settings.token_secret.get_secret_value()
    form = await _form_data(request)
    token = form.get("token", "").strip()
    if not token:
        if not settings.web_dev_sign_in:
            return _sign_in_page(request, "Bitte ein Token angeben.", 400)
        user = form.get("user", "").strip()
        if not user or form.get("agency") not in AGENCY_NAMES or form.get("role") not in ROLE_NAMES:
            return _sign_in_page(request, "Bitte Behörde, Rolle und Namen angeben.", 400)
        token = dev_token(
            secret,
            agency=form["agency"],
            role=form["role"],
            user=user,
            purpose=form.get("purpose") or Purpose.COUNSELLING.value,
        )
    try:
        claims = verify(secret, token, datetime.now(UTC))
    except TokenError as error:
        return _sign_in_page(request, f"Anmeldung abgelehnt: {error}", 401)
    target = "/steuerung" if claims.role == Role.STEERING else "/faelle"
    response = RedirectResponse(target, status.HTTP_303_SEE_OTHER)
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(LIFETIME.total_seconds()),
        httponly=True,
        samesite="strict",  # no other site can make the browser send a command with it
        secure=settings.web_cookie_secure,
    )
    return response


@router.post("/abmelden")
async def sign_out() -> RedirectResponse:
    response = RedirectResponse("/anmelden", status.HTTP_303_SEE_OTHER)
    response.delete_cookie(COOKIE)
    return response


@router.get("/")
async def home() -> RedirectResponse:
    return RedirectResponse("/faelle", status.HTTP_303_SEE_OTHER)


# --- caseload -------------------------------------------------------------------------------


@router.get("/faelle", response_class=HTMLResponse)
async def caseload_page(request: Request, session: Signed, talk: Talk) -> HTMLResponse:
    chosen = caseload.CaseloadFilter.from_query(request.query_params)
    try:
        held = await talk.timelines(session, await talk.case_ids(session))
    except ViewUnavailableError as error:
        return _page(request, "fehler.html", 503, session=session, message=str(error))
    reader, today = session.claims.agency, _today()
    cases = [caseload.summarise(case_id, events, reader, today) for case_id, events in held.items()]
    shown = caseload.caseload(cases, chosen)
    return _page(
        request,
        "faelle.html",
        session=session,
        cases=shown,
        total=len(cases),
        overdue=sum(c.first_contact_overdue for c in cases),
        chosen=chosen,
        sites=list(Site),
        rechtskreise=list(Rechtskreis),
        statuses=list(caseload.Status),
        today=today,
    )


# --- a case ---------------------------------------------------------------------------------


async def _case_page(
    request: Request,
    session: Session,
    talk: Talk,
    case_id: UUID,
    *,
    failed: tuple[CommandForm, Outcome, dict[str, str]] | None = None,
    code: int = 200,
) -> HTMLResponse:
    try:
        answer = await talk.timeline(session, case_id)
    except ViewUnavailableError as error:
        return _page(request, "fehler.html", 503, session=session, message=str(error))
    if answer.status != 200:
        reason = answer.body.get("detail") if isinstance(answer.body, dict) else None
        message = f"Dieser Fall ist für Sie nicht sichtbar ({reason or answer.status})."
        return _page(request, "fehler.html", 403, session=session, message=message)
    events = answer.body["events"]
    summary = caseload.summarise(case_id, events, session.claims.agency, _today())
    return _page(
        request,
        "fall.html",
        code,
        session=session,
        case=summary,
        entries=timeline.entries(events),
        forms=CASE_FORMS,
        failed_key=failed[0].key if failed else None,
        outcome=failed[1] if failed else Outcome(),
        values=failed[2] if failed else {},
        flash=request.query_params.get("meldung"),
        today=_today(),
    )


@router.get("/faelle/{case_id}", response_class=HTMLResponse)
async def case_page(request: Request, case_id: UUID, session: Signed, talk: Talk) -> HTMLResponse:
    return await _case_page(request, session, talk, case_id)


async def _caught_up(talk: Backends, session: Session, case_id: UUID, before: int) -> None:
    """Wait (bounded) until the view holds more of the case than ``before`` events, so the
    page the case worker lands on shows what they just recorded. A command the view does
    not hold anything of just waits out the bound."""
    loop = asyncio.get_running_loop()
    deadline, pause = loop.time() + CATCH_UP_SECONDS, 0.2
    while loop.time() < deadline:
        await asyncio.sleep(pause)
        if before < 0:
            if case_id in await talk.case_ids(session):
                return
        else:
            answer = await talk.timeline(session, case_id)
            if answer.status == 200 and len(answer.body["events"]) > before:
                return
        pause = min(pause * 2, 1.6)


def _done(case_id: UUID, form: CommandForm) -> RedirectResponse:
    query = urlencode({"meldung": form.done})
    return RedirectResponse(f"/faelle/{case_id}?{query}", status.HTTP_303_SEE_OTHER)


@router.post("/faelle/{case_id}/{form_key}", response_model=None)
async def case_command(
    request: Request, case_id: UUID, form_key: str, session: Signed, talk: Talk
) -> Response:
    form = FORMS.get(form_key)
    if form is None or form is REGISTER:
        return _page(request, "fehler.html", 404, session=session, message="Unbekanntes Formular")
    submitted = await _form_data(request)
    before = await talk.timeline(session, case_id)
    held = len(before.body["events"]) if before.status == 200 else 0
    key = submitted.get("vorgang") or str(uuid4())
    answer = await talk.command(session, form, case_id, command_body(form, submitted), key)
    if answer.status != 201:
        failed = (form, refusal_of(form, answer.status, answer.body), submitted)
        code = answer.status if answer.status in {409, 422} else 502
        return await _case_page(request, session, talk, case_id, failed=failed, code=code)
    await _caught_up(talk, session, case_id, held)
    return _done(case_id, form)


@router.get("/registrieren", response_class=HTMLResponse)
async def register_form(request: Request, session: Signed) -> HTMLResponse:
    return _page(
        request,
        "registrieren.html",
        session=session,
        form=REGISTER,
        outcome=Outcome(),
        values={},
        vorgang=str(uuid4()),
        today=_today(),
    )


@router.post("/registrieren", response_model=None)
async def register(request: Request, session: Signed, talk: Talk) -> Response:
    submitted = await _form_data(request)
    key = submitted.get("vorgang") or str(uuid4())
    answer = await talk.command(session, REGISTER, None, command_body(REGISTER, submitted), key)
    if answer.status != 201:
        return _page(
            request,
            "registrieren.html",
            answer.status if answer.status in {409, 422} else 502,
            session=session,
            form=REGISTER,
            outcome=refusal_of(REGISTER, answer.status, answer.body),
            values=submitted,
            vorgang=key,
            today=_today(),
        )
    case_id = UUID(answer.body["case_id"])
    await _caught_up(talk, session, case_id, -1)
    return _done(case_id, REGISTER)


# --- steering -------------------------------------------------------------------------------


@router.get("/steuerung", response_class=HTMLResponse)
async def steering_page(request: Request, session: Signed, talk: Talk) -> HTMLResponse:
    try:
        months_answer = await talk.steering(session, "/months")
        if months_answer.status_code != 200:
            return _page(
                request,
                "fehler.html",
                months_answer.status_code,
                session=session,
                message="Die Steuerungsansicht verweigert den Zugriff "
                f"({months_answer.status_code}): {months_answer.text[:300]}",
            )
        months = _months(months_answer.json())
        month = request.query_params.get("monat") or (months[-1] if months else "")
        figures: dict[str, Any] = {}
        if month:
            answer = await talk.steering(session, "/figures", month=month)
            if answer.status_code == 200:
                figures = answer.json()
    except ViewUnavailableError as error:
        return _page(request, "fehler.html", 503, session=session, message=str(error))
    drawn = charts.charts(figures.get("rows", []))
    return _page(
        request,
        "steuerung.html",
        session=session,
        months=months,
        month=month,
        shown=[c for c in drawn if not c.all_suppressed],
        suppressed=[c for c in drawn if c.all_suppressed],
        descriptions=_descriptions(figures),
        plot_height=charts.PLOT_HEIGHT,
        bar_width=charts.BAR_WIDTH,
    )


def _months(body: Any) -> list[str]:
    listed = body.get("months", []) if isinstance(body, dict) else body
    return sorted(str(m if not isinstance(m, dict) else m.get("month")) for m in listed or [])


def _descriptions(figures: dict[str, Any]) -> dict[str, str]:
    """Each figure's definition text, when the view sends its definitions."""
    definitions = figures.get("definitions") or figures.get("figures") or []
    if isinstance(definitions, dict):
        return {str(k): str(v.get("description", v)) for k, v in definitions.items()}
    return {
        str(d.get("key") or d.get("figure")): str(d.get("description", ""))
        for d in definitions
        if isinstance(d, dict)
    }


@router.get("/steuerung.csv", response_model=None)
async def steering_csv(request: Request, session: Signed, talk: Talk) -> Response:
    month = request.query_params.get("monat", "")
    try:
        answer = await talk.steering(session, "/figures.csv", month=month)
    except ViewUnavailableError as error:
        return Response(str(error), status.HTTP_503_SERVICE_UNAVAILABLE)
    return Response(
        answer.content,
        answer.status_code,
        media_type=answer.headers.get("content-type", "text/csv"),
        headers={"Content-Disposition": f'attachment; filename="steuerung-{month}.csv"'},
    )
