"""The language service's settings: the only place its processes read the environment."""

from __future__ import annotations

from pydantic import Field

from services.chassis.oidc import OidcSettings
from services.chassis.settings import ProcessSettings


class LanguageSettings(ProcessSettings, OidcSettings):
    """The language service's database and HTTP listener."""

    language_database_url: str = Field(
        default="postgresql://language@127.0.0.1:15432/language",
        validation_alias="IP_DB_LANGUAGE",
    )
    language_host: str = "127.0.0.1"
    language_port: int = Field(default=8002, ge=1, le=65535)
