"""Recognition's settings: the only place its processes read the environment."""

from __future__ import annotations

from pydantic import Field

from services.chassis.oidc import OidcSettings
from services.chassis.settings import ProcessSettings


class RecognitionSettings(ProcessSettings, OidcSettings):
    """Recognition's database and HTTP listener."""

    recognition_database_url: str = Field(
        default="postgresql://recognition@127.0.0.1:15432/recognition",
        validation_alias="IP_DB_RECOGNITION",
    )
    recognition_host: str = "127.0.0.1"
    recognition_port: int = Field(default=8003, ge=1, le=65535)
