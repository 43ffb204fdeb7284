"""The language service's composition root: the write side, its reaction and the HTTP app."""

from __future__ import annotations

from typing import Final

from fastapi import FastAPI

from contracts.language import TOPIC, LanguageEvent, language_codec
from services.chassis.actors import CommandIdentity
from services.chassis.known_cases import PostgresKnownCases, known_cases_reaction
from services.chassis.service import ServiceSpec, WriteSide, service_http_app
from services.language.api import router
from services.language.handlers import LanguagePorts
from services.language.reactions import HAND_OVER
from services.language.settings import LanguageSettings

SPEC: Final = ServiceSpec[LanguageEvent](
    name="language",
    package="services.language",
    topic=TOPIC,
    codec=language_codec,
    description="Each person's language path: entitlements and obligations to attend an "
    "Integrationskurs or Berufssprachkurs, placement tests, enrolments, monthly attendance, "
    "exams; entitlements follow the case when it is handed over.",
    reactions=(HAND_OVER, known_cases_reaction("language")),
)


def create_app(settings: LanguageSettings, identity: CommandIdentity | None = None) -> FastAPI:
    """The language HTTP app; its pool and reaction live as long as the app runs.
    ``identity`` verifies the bearer tokens (default: the provider the settings name)."""

    def wire(app: FastAPI, write_side: WriteSide[LanguageEvent]) -> None:
        app.state.language = LanguagePorts(
            store=write_side.store, cases=PostgresKnownCases(write_side.pool)
        )

    return service_http_app(
        SPEC,
        title="Integration Points: language",
        database_url=settings.language_database_url,
        settings=settings,
        router=router,
        wire=wire,
        identity=identity,
    )
