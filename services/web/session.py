"""Who is signed in: the provider's access token in an HttpOnly cookie, and which view it opens.

The token is the one the views verify (the platform's OpenID Connect provider's, obtained by
the sign-in in ``services.web.signin``): the web passes it on to the view's read API
unchanged, so the view decides what the case worker may read and logs each read under the
case worker's name. The web verifies it too (``services.chassis.identity``), to know whom to
greet and which forms to offer; the command APIs take agency and role from
it with each form. An expired token is renewed with the refresh
token the provider gave at sign-in (a GET page is sent through ``/anmelden/erneuern``); when
that fails too, the case worker signs in again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from fastapi import Request

from contracts.envelope import Agency
from contracts.intake import Purpose
from services.chassis.identity import JwksVerifier, Principal, TokenError
from services.projections.agency_api import READ_ROLE, TOKEN_AGENCY, Role
from services.projections.purpose import ViewId

COOKIE: Final = "ip_sitzung"  # the access token
REFRESH_COOKIE: Final = "ip_erneuerung"  # the refresh token
ID_COOKIE: Final = "ip_ausweis"  # the ID token: names the session at the provider's sign-out
LIFETIME: Final = timedelta(hours=8)  # the provider's session (ssoSessionIdleTimeout)
COMMAND_ROLES: Final = frozenset(
    {Role.CASE_WORKER, Role.ABH_CASE_WORKER, Role.SOZIALAMT_CASE_WORKER}
)

AGENCY_NAMES: Final = {
    "AA-MG": "Agentur für Arbeit Mönchengladbach",
    "JC-MG": "Jobcenter Mönchengladbach",
    "JC-RKN": "Jobcenter Rhein-Kreis Neuss",
    "STADT-MG": "Stadt Mönchengladbach",
    "RKN": "Rhein-Kreis Neuss",
    "iq_counselling": "IQ Anerkennungsberatung",
    "jugendberufsagentur": "Jugendberufsagentur",
    "course_provider": "Kursträger",
}
ROLE_NAMES: Final = {
    Role.CASE_WORKER.value: "Fallbearbeitung",
    Role.ABH_CASE_WORKER.value: "Ausländerbehörde",
    Role.SOZIALAMT_CASE_WORKER.value: "Sozialamt",
    Role.DATA_PROTECTION.value: "Datenschutz",
    Role.STEERING.value: "Steuerung",
}
PURPOSE_NAMES: Final = {
    Purpose.COUNSELLING.value: "Beratung",
    Purpose.PLACEMENT.value: "Vermittlung",
    Purpose.LANGUAGE_COURSES.value: "Sprachkurse",
    Purpose.RECOGNITION.value: "Anerkennung",
    Purpose.HAND_OVER.value: "Übergabe",
    Purpose.INTERPRETING.value: "Sprachmittlung",
    "steering": "Steuerung",
    "audit": "Datenschutzkontrolle",
}


def view_of(agency: str, role: str) -> ViewId | None:
    """The view whose cases a token of ``agency`` in ``role`` reads, if any."""
    return next(
        (
            view
            for view, accepted in TOKEN_AGENCY.items()
            if accepted == agency and READ_ROLE[view.kind] == role
        ),
        None,
    )


@dataclass(frozen=True)
class Session:
    """The signed-in case worker: who the provider's token names, and the token."""

    claims: Principal
    token: str

    @property
    def view(self) -> ViewId | None:
        return view_of(self.claims.agency, self.claims.role)

    @property
    def acting_agency(self) -> Agency | None:
        """On whose behalf commands are sent: an agency in a case-working role; a partner,
        a data protection officer or steering sends none."""
        if self.claims.role not in COMMAND_ROLES:
            return None
        return next((a for a in Agency if a.value == self.claims.agency), None)

    @property
    def agency_name(self) -> str:
        return AGENCY_NAMES.get(self.claims.agency, self.claims.agency)


class SignInRequiredError(Exception):
    """No valid session: the page sends the browser to the sign-in page, or to the renewal
    of the session when a refresh token may renew it."""

    def __init__(self, reason: str, *, renewable: bool = False) -> None:
        super().__init__(reason)
        self.renewable = renewable


async def session_of(request: Request, verifier: JwksVerifier) -> Session:
    token = request.cookies.get(COOKIE, "")
    renewable = bool(request.cookies.get(REFRESH_COOKIE))
    if not token:
        raise SignInRequiredError("not signed in", renewable=renewable)
    try:
        claims = await verifier.verify(token)
    except TokenError as error:
        raise SignInRequiredError(str(error), renewable=renewable) from error
    return Session(claims, token)
