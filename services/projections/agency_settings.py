"""A view process's settings: the only place it reads the environment."""

from __future__ import annotations

from pydantic import Field

from services.chassis.oidc import OidcClientSettings, OidcSettings
from services.chassis.settings import ProcessSettings
from services.projections.purpose import ViewId


class ViewProjectionSettings(ProcessSettings, OidcClientSettings):
    """Which view, its own database, and how its projection reads the topics and the person
    keys (from intake, with the access token of its client at the provider, by client
    credentials): all a rebuild needs (``python -m services.projections.rebuild``)."""

    agency_view: ViewId = Field(description="which view (e.g. aa_mg, jc_mg, partner_iq, steering)")
    agency_database_url: str = Field(validation_alias="IP_DB_VIEW")
    agency_consumer_group: str | None = Field(default=None, description="default projection.<view>")
    agency_max_batch: int = Field(default=500, ge=1, le=10_000)
    topic_partitions: int = Field(default=6, ge=1, description="partitions of the domain topics")
    intake_url: str = Field(default="http://127.0.0.1:8001", description="where keys are served")


class AgencyViewSettings(ViewProjectionSettings, OidcSettings):
    """A view process: the projection, its listener and the provider whose access tokens
    its readers present (``IP_OIDC_ISSUER`` is required: without it no read is served)."""

    agency_host: str = "127.0.0.1"
    agency_port: int = Field(default=8102, ge=1, le=65535)
