"""Placement's settings: the only place its processes read the environment."""

from __future__ import annotations

from pydantic import Field

from services.chassis.oidc import OidcSettings
from services.chassis.settings import ProcessSettings


class PlacementSettings(ProcessSettings, OidcSettings):
    """Placement's database and HTTP listener, and whether this process reacts to intake."""

    placement_database_url: str = Field(
        default="postgresql://placement@127.0.0.1:15432/placement",
        validation_alias="IP_DB_PLACEMENT",
    )
    placement_host: str = "127.0.0.1"
    placement_port: int = Field(default=8004, ge=1, le=65535)
