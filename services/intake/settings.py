"""Intake's settings: the only place its processes read the environment."""

from __future__ import annotations

from pydantic import Field

from services.chassis.oidc import OidcSettings
from services.chassis.settings import ProcessSettings


class IntakeSettings(ProcessSettings, OidcSettings):
    """Intake's database, HTTP listener, the provider whose tokens it accepts, and the
    provider's clients allowed to fetch person keys."""

    intake_database_url: str = Field(
        default="postgresql://intake@127.0.0.1:15432/intake",
        validation_alias="IP_DB_INTAKE",
    )
    intake_host: str = "127.0.0.1"
    intake_port: int = Field(default=8001, ge=1, le=65535)
    intake_consent_expiry_seconds: float = Field(
        default=600.0,
        ge=0.0,
        description="how often the process records lapsed consents as expired (0: never)",
    )
    intake_key_clients: frozenset[str] = Field(
        default=frozenset({"ip-view-reader", "ip-partners-feed"}),
        description="the provider's clients (azp of a client-credentials token) that may fetch"
        " person keys (JSON list)",
    )
