"""Signing in and out: a token pasted from the issuer, or (dev sign-in only) one issued here,
kept in an HttpOnly cookie."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import HTMLResponse, RedirectResponse

from contracts.intake import Purpose
from services.chassis.auth import TokenError, verify
from services.projections.agency_api import Role
from services.web.pages import form_data, page, settings_of
from services.web.session import (
    AGENCY_NAMES,
    COOKIE,
    LIFETIME,
    PURPOSE_NAMES,
    ROLE_NAMES,
    dev_token,
)

router = APIRouter()


def _sign_in_page(request: Request, error: str | None = None, code: int = 200) -> HTMLResponse:
    return page(
        request,
        "anmelden.html",
        code,
        dev=settings_of(request).web_dev_sign_in,
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
    settings = settings_of(request)
    secret = settings.token_secret.get_secret_value()
    form = await form_data(request)
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
