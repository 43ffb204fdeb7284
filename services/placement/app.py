"""Placement's composition root: the write side, the reaction to intake and the HTTP app."""

from __future__ import annotations

from typing import Final

from fastapi import FastAPI

from contracts.placement import TOPIC, PlacementEvent, placement_codec
from services.chassis.actors import CommandIdentity
from services.chassis.known_cases import PostgresKnownCases, known_cases_reaction
from services.chassis.service import ServiceSpec, WriteSide, service_http_app
from services.placement.api import router
from services.placement.handlers import PlacementPorts
from services.placement.reactions import RESIDENCE_FACTS
from services.placement.settings import PlacementSettings

SPEC: Final = ServiceSpec[PlacementEvent](
    name="placement",
    package="services.placement",
    topic=TOPIC,
    codec=placement_codec,
    description="Work-permission eligibility and decisions under dated rules, measures, the "
    "employer service's openings and proposals, placements and follow-up contacts.",
    reactions=(RESIDENCE_FACTS, known_cases_reaction("placement")),
)


def create_app(settings: PlacementSettings, identity: CommandIdentity | None = None) -> FastAPI:
    """The placement HTTP app; its pool and its intake subscriber live as long as the app.
    ``identity`` verifies the bearer tokens (default: the provider the settings name)."""

    def wire(app: FastAPI, write_side: WriteSide[PlacementEvent]) -> None:
        app.state.placement = PlacementPorts(
            store=write_side.store, cases=PostgresKnownCases(write_side.pool)
        )

    return service_http_app(
        SPEC,
        title="Integration Points: placement",
        database_url=settings.placement_database_url,
        settings=settings,
        router=router,
        wire=wire,
        identity=identity,
    )
