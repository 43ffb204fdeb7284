"""The web's HTTP adapters: the signed-in agency's view, the four services, the steering view.

Every read carries the case worker's own token, so the view authorises and logs it under
their name; every command carries their token too (the service takes agency and role from it
and decides whether they may issue it) and an idempotency key, so a
form sent twice (a double click, a browser retry) is recorded once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import httpx
import structlog

from services.chassis.telemetry import trace_headers
from services.web.forms import CommandForm
from services.web.session import Session
from services.web.settings import WebSettings

log = structlog.get_logger("web.backends")


class ViewUnavailableError(Exception):
    """The session opens no view here, or the view did not answer."""


@dataclass(frozen=True)
class Answer:
    """A service's or view's status and JSON body (``None`` when it sent no JSON)."""

    status: int
    body: Any

    @classmethod
    def of(cls, response: httpx.Response) -> Answer:
        try:
            body = response.json()
        except ValueError:
            body = None
        return cls(response.status_code, body)


class Backends:
    """One HTTP client for everything the web talks to."""

    def __init__(self, settings: WebSettings, http: httpx.AsyncClient) -> None:
        self._settings = settings
        self._http = http

    @property
    def http(self) -> httpx.AsyncClient:
        """The web's one client (also for the provider's discovery document)."""
        return self._http

    def _view_url(self, session: Session) -> str:
        view = session.view
        url = self._settings.web_view_urls.get(view) if view is not None else None
        if url is None:
            raise ViewUnavailableError(
                f"keine Fallansicht für {session.claims.agency} in der Rolle {session.claims.role}"
            )
        return url.rstrip("/")

    @staticmethod
    def _bearer(session: Session) -> dict[str, str]:
        return {**trace_headers(), "Authorization": f"Bearer {session.token}"}

    async def _get(self, url: str, session: Session, **params: str) -> httpx.Response:
        try:
            return await self._http.get(url, headers=self._bearer(session), params=params)
        except httpx.TransportError as error:
            log.warning("backend.unreachable", url=url, error=type(error).__name__)
            raise ViewUnavailableError(f"{url} antwortet nicht") from error

    async def case_ids(self, session: Session) -> list[UUID]:
        response = await self._get(f"{self._view_url(session)}/cases", session, limit="1000")
        if response.status_code != 200:
            raise ViewUnavailableError(f"die Ansicht antwortete mit {response.status_code}")
        return [UUID(case_id) for case_id in response.json()]

    async def timeline(self, session: Session, case_id: UUID) -> Answer:
        response = await self._get(f"{self._view_url(session)}/cases/{case_id}", session)
        return Answer.of(response)

    async def caseload(self, session: Session) -> dict[UUID, list[dict[str, Any]]]:
        """The held events of the view's newest cases, in one read (the view logs it as a
        timeline read per case)."""
        response = await self._get(f"{self._view_url(session)}/caseload", session, limit="1000")
        if response.status_code != 200:
            raise ViewUnavailableError(f"die Ansicht antwortete mit {response.status_code}")
        return {UUID(case["case_id"]): case["events"] for case in response.json()}

    async def command(
        self,
        session: Session,
        form: CommandForm,
        case_id: UUID | None,
        body: dict[str, Any],
        idempotency_key: str,
    ) -> Answer:
        agency = session.acting_agency
        if agency is None:
            return Answer(403, {"detail": "this role records no commands"})
        url = self._settings.service_url(form.service) + form.url_path(case_id)
        headers = {**self._bearer(session), "Idempotency-Key": idempotency_key}
        try:
            response = await self._http.post(url, json=body, headers=headers)
        except httpx.TransportError as error:
            log.warning("service.unreachable", service=form.service, error=type(error).__name__)
            return Answer(503, None)
        return Answer.of(response)

    def _steering_url(self) -> str:
        if self._settings.web_steering_url is None:
            raise ViewUnavailableError("keine Steuerungsansicht eingerichtet")
        return self._settings.web_steering_url.rstrip("/")

    async def steering(self, session: Session, path: str, **params: str) -> httpx.Response:
        """A read of the steering view (``/months``, ``/figures``, ``/figures.csv``)."""
        return await self._get(f"{self._steering_url()}{path}", session, **params)
