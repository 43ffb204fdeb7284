"""The caseload, a case with its timeline and command forms, and the registration."""

from __future__ import annotations

import asyncio
from typing import Final
from urllib.parse import urlencode
from uuid import UUID, uuid4

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import HTMLResponse, RedirectResponse

from contracts.common import Site
from services.projections.steering import Rechtskreis
from services.web import caseload, timeline
from services.web.backends import Backends, ViewUnavailableError
from services.web.forms import CASE_FORMS, FORMS, REGISTER, CommandForm, Outcome, command_body
from services.web.forms import refusal as refusal_of
from services.web.pages import Signed, Talk, form_data, page, today
from services.web.session import Session

router = APIRouter()

CATCH_UP_SECONDS: Final = 10.0  # how long an accepted command waits for the view

# --- caseload -------------------------------------------------------------------------------


@router.get("/faelle", response_class=HTMLResponse)
async def caseloadpage(request: Request, session: Signed, talk: Talk) -> HTMLResponse:
    chosen = caseload.CaseloadFilter.from_query(request.query_params)
    try:
        held = await talk.caseload(session)
    except ViewUnavailableError as error:
        return page(request, "fehler.html", 503, session=session, message=str(error))
    reader, day = session.claims.agency, today()
    cases = [caseload.summarise(case_id, events, reader, day) for case_id, events in held.items()]
    shown = caseload.caseload(cases, chosen)
    return page(
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
        today=day,
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
        return page(request, "fehler.html", 503, session=session, message=str(error))
    if answer.status != 200:
        reason = answer.body.get("detail") if isinstance(answer.body, dict) else None
        message = f"Dieser Fall ist für Sie nicht sichtbar ({reason or answer.status})."
        return page(request, "fehler.html", 403, session=session, message=message)
    events = answer.body["events"]
    summary = caseload.summarise(case_id, events, session.claims.agency, today())
    return page(
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
        today=today(),
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
        return page(request, "fehler.html", 404, session=session, message="Unbekanntes Formular")
    submitted = await form_data(request)
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
    return page(
        request,
        "registrieren.html",
        session=session,
        form=REGISTER,
        outcome=Outcome(),
        values={},
        vorgang=str(uuid4()),
        today=today(),
    )


@router.post("/registrieren", response_model=None)
async def register(request: Request, session: Signed, talk: Talk) -> Response:
    submitted = await form_data(request)
    key = submitted.get("vorgang") or str(uuid4())
    answer = await talk.command(session, REGISTER, None, command_body(REGISTER, submitted), key)
    if answer.status != 201:
        return page(
            request,
            "registrieren.html",
            answer.status if answer.status in {409, 422} else 502,
            session=session,
            form=REGISTER,
            outcome=refusal_of(REGISTER, answer.status, answer.body),
            values=submitted,
            vorgang=key,
            today=today(),
        )
    case_id = UUID(answer.body["case_id"])
    await _caught_up(talk, session, case_id, -1)
    return _done(case_id, REGISTER)
