"""Who is signed in: the signed token in an HttpOnly cookie, and which view it opens.

The token is the one the views verify (``services.chassis.auth``): the web passes it on to
the view's read API unchanged, so the view decides what the case worker may read and logs
each read under the case worker's name; and to the command APIs with each form, which take
agency and role from it. The web verifies it too, to know whom to greet and which forms to
offer.

The dev sign-in (``IP_WEB_DEV_SIGN_IN``, set by ``make run`` only) issues such a token for
any agency, role and user: it stands in for the identity provider of a real deployment and
must never be switched on outside the local dev setup.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

from fastapi import Request

from contracts.envelope import Agency
from contracts.intake import Purpose
from services.chassis.auth import Claims, TokenError, issue, verify
from services.projections.agency_api import READ_ROLE, TOKEN_AGENCY, Role
from services.projections.purpose import ViewId

COOKIE: Final = "ip_sitzung"
LIFETIME: Final = timedelta(hours=8)
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
    """The signed-in case worker."""

    claims: Claims
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
    """No valid session: the page sends the browser to the sign-in page."""


def _now() -> datetime:
    return datetime.now(UTC)


def session_of(request: Request, secret: str) -> Session:
    token = request.cookies.get(COOKIE, "")
    if not token:
        raise SignInRequiredError("not signed in")
    try:
        claims = verify(secret, token, _now())
    except TokenError as error:
        raise SignInRequiredError(str(error)) from error
    return Session(claims, token)


def dev_token(secret: str, *, agency: str, role: str, user: str, purpose: str) -> str:
    """The dev issuer: a token as the identity provider would issue it."""
    now = _now().replace(microsecond=0)
    return issue(secret, Claims(agency, role, user, purpose, now, now + LIFETIME))
