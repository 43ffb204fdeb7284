"""Intake's composition root: the write side, the person keys and the HTTP app."""

from __future__ import annotations

from typing import Final

import httpx
from fastapi import FastAPI

from contracts.intake import TOPIC, IntakeEvent, intake_codec
from services.chassis.actors import CommandIdentity, command_identity
from services.chassis.oidc import verifier
from services.chassis.service import ServiceSpec, WriteSide, service_http_app
from services.intake.api import router
from services.intake.consent_expiry import every
from services.intake.handlers import IntakePorts
from services.intake.keys import PostgresKeyStore
from services.intake.reactions import REACTIONS, PostgresMilestones
from services.intake.settings import IntakeSettings

SPEC: Final = ServiceSpec[IntakeEvent](
    name="intake",
    package="services.intake",
    topic=TOPIC,
    codec=intake_codec,
    description="The person's case from allocation to a town onwards: registration, "
    "residence, consent, profile, interpreters, the responsible agency and its hand-overs; "
    "and the per-person keys that seal personal data.",
    reactions=REACTIONS,
)


def intake_ports(
    write_side: WriteSide[IntakeEvent], key_clients: frozenset[str] = frozenset()
) -> IntakePorts:
    """Intake's handler ports on its database (the HTTP app's, or a job's)."""
    return IntakePorts(
        store=write_side.store,
        keys=PostgresKeyStore(write_side.pool),
        milestones=PostgresMilestones(write_side.pool),
        key_clients=key_clients,
    )


def create_app(settings: IntakeSettings, identity: CommandIdentity | None = None) -> FastAPI:
    """The intake HTTP app; its pool lives as long as the app runs.
    ``identity`` verifies the bearer tokens (default: the provider the settings name)."""

    # The provider's keys, fetched over a client that lives as long as the process; the key
    # endpoint and the commands verify with the same verifier.
    verifying = (
        verifier(settings, httpx.AsyncClient(timeout=10.0)) if settings.oidc_issuer else None
    )

    def wire(app: FastAPI, write_side: WriteSide[IntakeEvent]) -> None:
        app.state.intake = intake_ports(write_side, settings.intake_key_clients)
        app.state.identity = verifying

    seconds = settings.intake_consent_expiry_seconds
    # A consent's end takes effect by itself: no one has to record its expiry.
    background = (every(seconds, intake_ports),) if seconds > 0 else ()

    return service_http_app(
        SPEC,
        title="Integration Points: intake",
        database_url=settings.intake_database_url,
        settings=settings,
        router=router,
        wire=wire,
        background=background,
        identity=identity or command_identity(settings, verifying),
    )
