"""Signing in and out through the platform's OpenID Connect provider: the authorization code
flow with PKCE (S256, RFC 7636) of the public client ``ip-web``, driven with authlib.

1. ``GET /anmelden``: the page; the case worker picks the purpose of their reads.
2. ``GET /anmelden/start``: a new ``state`` and code verifier, kept in a short-lived cookie,
   and a redirect to the provider's login page (scope ``openid purpose-<purpose>``).
3. ``GET /anmelden/rueckkehr``: the provider sends the browser back with a code; the state
   must be the cookie's, the code is exchanged with the verifier, the access token verified.
   The tokens are kept in HttpOnly cookies; the sign-in cookie goes.

The cookies are ``SameSite=Lax``, not ``Strict``: the provider's redirect back is a top-level
navigation started on another site (the provider's login page), and a browser sends no
``Strict`` cookie on it, nor on the redirect to the caseload that follows, so the state could
not be checked and the new session would look signed out. ``Lax`` still keeps them off
cross-site POSTs, which is what could make a browser send a command.
"""

from __future__ import annotations

import json
from typing import Any, Final
from urllib.parse import urlencode

import structlog
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client
from fastapi import APIRouter, Request, Response, status
from fastapi.responses import HTMLResponse, RedirectResponse

from services.chassis.identity import JwksVerifier, TokenError
from services.chassis.oidc import discovered
from services.projections.agency_api import Role
from services.web.pages import page, settings_of
from services.web.session import COOKIE, ID_COOKIE, LIFETIME, PURPOSE_NAMES, REFRESH_COOKIE
from services.web.settings import WebSettings

log = structlog.get_logger("web.signin")
router = APIRouter()

SIGN_IN_COOKIE: Final = "ip_anmeldung"  # state and code verifier between start and return
SIGN_IN_SECONDS: Final = 600
CALLBACK: Final = "/anmelden/rueckkehr"


def _verifier(request: Request) -> JwksVerifier:
    verifying: JwksVerifier = request.app.state.identity
    return verifying


async def _endpoints(request: Request) -> dict[str, Any]:
    """The provider's discovery document (fetched once per process)."""
    cached: dict[str, Any] | None = getattr(request.app.state, "provider_endpoints", None)
    if cached is None:
        cached = await discovered(request.app.state.backends.http, settings_of(request).oidc_issuer)
        request.app.state.provider_endpoints = cached
    return cached


def _client(request: Request, scope: str | None = None) -> AsyncOAuth2Client:
    settings = settings_of(request)
    return AsyncOAuth2Client(
        client_id=settings.web_oidc_client_id,
        transport=request.app.state.transport,
        redirect_uri=settings.web_public_url.rstrip("/") + CALLBACK,
        scope=scope,
        code_challenge_method="S256",
        timeout=15.0,
    )


def _sign_in_page(request: Request, error: str | None = None, code: int = 200) -> HTMLResponse:
    return page(request, "anmelden.html", code, purposes=PURPOSE_NAMES, error=error)


@router.get("/anmelden", response_class=HTMLResponse)
async def sign_in_form(request: Request) -> HTMLResponse:
    return _sign_in_page(request)


@router.get("/anmelden/start", response_model=None)
async def sign_in_start(request: Request, zweck: str = "counselling") -> Response:
    """To the provider's login page, with a new state and PKCE verifier."""
    if zweck not in PURPOSE_NAMES:
        return _sign_in_page(request, "Bitte einen Zweck wählen.", 400)
    settings = settings_of(request)
    endpoints = await _endpoints(request)
    state, verifier = generate_token(32), generate_token(64)
    async with _client(request, f"openid purpose-{zweck}") as client:
        url, _ = client.create_authorization_url(
            endpoints["authorization_endpoint"], state=state, code_verifier=verifier
        )
    response = RedirectResponse(url, status.HTTP_303_SEE_OTHER)
    _set_cookie(
        response,
        settings,
        SIGN_IN_COOKIE,
        json.dumps({"state": state, "verifier": verifier}),
        SIGN_IN_SECONDS,
    )
    return response


@router.get(CALLBACK, response_model=None)
async def sign_in_return(
    request: Request, state: str = "", code: str = "", error: str = ""
) -> Response:
    """The provider's answer: the code for the tokens, if the state is ours."""
    if error:
        return _sign_in_page(request, f"Anmeldung abgebrochen: {error}", 401)
    try:
        expected = json.loads(request.cookies.get(SIGN_IN_COOKIE, "{}"))
    except ValueError:
        expected = {}
    if not state or not code or state != expected.get("state"):
        log.warning("web.sign_in_refused", reason="state")
        return _sign_in_page(request, "Anmeldung abgelehnt: unbekannter Anmeldevorgang.", 400)
    settings = settings_of(request)
    endpoints = await _endpoints(request)
    try:
        async with _client(request) as client:
            tokens = await client.fetch_token(
                endpoints["token_endpoint"], code=code, code_verifier=expected["verifier"]
            )
        principal = await _verifier(request).verify(str(tokens["access_token"]))
    except (OAuthError, TokenError, KeyError) as failure:
        log.warning("web.sign_in_refused", reason=str(failure))
        return _sign_in_page(request, f"Anmeldung abgelehnt: {failure}", 401)
    target = "/steuerung" if principal.role == Role.STEERING else "/faelle"
    response = RedirectResponse(target, status.HTTP_303_SEE_OTHER)
    _keep_tokens(response, settings, tokens)
    response.delete_cookie(SIGN_IN_COOKIE)
    log.info("web.signed_in", agency=principal.agency, role=principal.role)
    return response


@router.get("/anmelden/erneuern", response_model=None)
async def renew(request: Request, ziel: str = "/faelle") -> Response:
    """A new access token from the refresh token, then back to the page; else sign in."""
    target = ziel if ziel.startswith("/") and not ziel.startswith("//") else "/faelle"
    refresh = request.cookies.get(REFRESH_COOKIE, "")
    settings = settings_of(request)
    if refresh:
        endpoints = await _endpoints(request)
        try:
            async with _client(request) as client:
                tokens = await client.refresh_token(
                    endpoints["token_endpoint"], refresh_token=refresh
                )
            await _verifier(request).verify(str(tokens["access_token"]))
        except (OAuthError, TokenError, KeyError) as failure:
            log.info("web.renewal_refused", reason=str(failure))
        else:
            response = RedirectResponse(target, status.HTTP_303_SEE_OTHER)
            _keep_tokens(response, settings, tokens)
            return response
    response = RedirectResponse("/anmelden", status.HTTP_303_SEE_OTHER)
    for name in (COOKIE, REFRESH_COOKIE):
        response.delete_cookie(name)
    return response


@router.post("/abmelden")
async def sign_out(request: Request) -> RedirectResponse:
    """Forget the tokens here, and end the session at the provider too."""
    settings = settings_of(request)
    endpoints = await _endpoints(request)
    back = settings.web_public_url.rstrip("/") + "/anmelden"
    query = {"client_id": settings.web_oidc_client_id, "post_logout_redirect_uri": back}
    if id_token := request.cookies.get(ID_COOKIE):
        query["id_token_hint"] = id_token
    end = endpoints.get("end_session_endpoint")
    response = RedirectResponse(
        f"{end}?{urlencode(query)}" if end else "/anmelden", status.HTTP_303_SEE_OTHER
    )
    for name in (COOKIE, REFRESH_COOKIE, ID_COOKIE):
        response.delete_cookie(name)
    return response


@router.get("/")
async def home() -> RedirectResponse:
    return RedirectResponse("/faelle", status.HTTP_303_SEE_OTHER)


def _keep_tokens(response: Response, settings: WebSettings, tokens: dict[str, Any]) -> None:
    seconds = int(LIFETIME.total_seconds())
    _set_cookie(response, settings, COOKIE, str(tokens["access_token"]), seconds)
    if tokens.get("refresh_token"):
        _set_cookie(response, settings, REFRESH_COOKIE, str(tokens["refresh_token"]), seconds)
    if tokens.get("id_token"):
        _set_cookie(response, settings, ID_COOKIE, str(tokens["id_token"]), seconds)


def _set_cookie(
    response: Response, settings: WebSettings, name: str, value: str, seconds: int
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=seconds,
        httponly=True,
        samesite="lax",  # see the module's docstring: Strict drops the provider's redirect back
        secure=settings.web_cookie_secure,
    )
