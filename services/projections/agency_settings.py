"""A view process's settings: the only place it reads the environment."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from services.chassis.settings import ProcessSettings
from services.projections.purpose import ViewId

MIN_SECRET_CHARS = 16


class ViewProjectionSettings(ProcessSettings):
    """Which view, its own database, and how its projection reads the topics and the person
    keys: all a rebuild needs (``python -m services.projections.rebuild``)."""

    agency_view: ViewId = Field(description="which view (e.g. aa_mg, jc_mg, partner_iq, steering)")
    agency_database_url: str = Field(validation_alias="IP_DB_VIEW")
    agency_consumer_group: str | None = Field(default=None, description="default projection.<view>")
    agency_max_batch: int = Field(default=500, ge=1, le=10_000)
    topic_partitions: int = Field(default=6, ge=1, description="partitions of the domain topics")
    intake_url: str = Field(default="http://127.0.0.1:8001", description="where keys are served")
    key_reader_token: str = Field(default="", description="bearer token for intake's key API")


class AgencyViewSettings(ViewProjectionSettings):
    """A view process: the projection, its listener and the secret its readers' tokens are
    signed with."""

    agency_host: str = "127.0.0.1"
    agency_port: int = Field(default=8102, ge=1, le=65535)
    token_secret: SecretStr = Field(
        validation_alias="IP_TOKEN_SECRET",
        description="HMAC secret the read API's bearer tokens are signed with (required)",
    )

    @field_validator("token_secret")
    @classmethod
    def _token_secret_set(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value().strip()) < MIN_SECRET_CHARS:
            raise ValueError(
                f"IP_TOKEN_SECRET is empty or shorter than {MIN_SECRET_CHARS} characters: the"
                " view refuses to serve reads it cannot authenticate (make run generates one)"
            )
        return value
