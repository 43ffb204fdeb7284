"""Recognition's composition root: the write side, the cases it knows and the HTTP app."""

from __future__ import annotations

from typing import Final

from fastapi import FastAPI

from contracts.recognition import TOPIC, RecognitionEvent, recognition_codec
from services.chassis.actors import CommandIdentity
from services.chassis.known_cases import PostgresKnownCases, known_cases_reaction
from services.chassis.service import ServiceSpec, WriteSide, service_http_app
from services.recognition.api import router
from services.recognition.handlers import RecognitionPorts
from services.recognition.settings import RecognitionSettings

SPEC: Final = ServiceSpec[RecognitionEvent](
    name="recognition",
    package="services.recognition",
    topic=TOPIC,
    codec=recognition_codec,
    description="Recognition (Anerkennung) of foreign qualifications: counselling, "
    "Referenzberuf, competent authority, application, Bescheid, ZAB statement, protected "
    "titles, adaptation qualification, and competence assessments.",
    reactions=(known_cases_reaction("recognition"),),
)


def create_app(settings: RecognitionSettings, identity: CommandIdentity | None = None) -> FastAPI:
    """The recognition HTTP app; its pool lives as long as the app runs.
    ``identity`` verifies the bearer tokens (default: the provider the settings name)."""

    def wire(app: FastAPI, write_side: WriteSide[RecognitionEvent]) -> None:
        app.state.recognition = RecognitionPorts(
            store=write_side.store, cases=PostgresKnownCases(write_side.pool)
        )

    return service_http_app(
        SPEC,
        title="Integration Points: recognition",
        database_url=settings.recognition_database_url,
        settings=settings,
        router=router,
        wire=wire,
        identity=identity,
    )
