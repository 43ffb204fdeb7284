"""Settings of the partner feed process and of ``partners`` (the only place they read the
environment): the feed's own database, where person keys come from, and where the CLI
leaves a new partner's connection settings."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from services.chassis.oidc import OidcClientSettings
from services.chassis.settings import ProcessSettings


class PartnerFeedSettings(ProcessSettings, OidcClientSettings):
    """The feed database (registry and one schema per partner) and the key API (fetched with
    the access token of the feed's client at the provider, ``IP_OIDC_CLIENT_*``)."""

    partners_database_url: str = Field(
        default="postgresql://proj_partners@127.0.0.1:15432/proj_partners",
        validation_alias="IP_DB_PROJ_PARTNERS",
    )
    partners_poll: float = Field(
        default=2.0, gt=0, description="seconds between looks at the registry (added, revoked)"
    )
    partners_max_batch: int = Field(default=500, ge=1, le=10_000)
    partners_credentials_dir: Path | None = Field(
        default=None,
        description="where `partners add` writes <name>.json, <name>.librdkafka.conf and "
        "<name>.properties (0600); None: print only",
    )
    partners_host: str = "127.0.0.1"
    partners_port: int = Field(
        default=8120, ge=1, le=65535, description="/health, the docs, the partners' keys"
    )
    partners_public_url: str = Field(
        default="http://127.0.0.1:8120",
        description="where partners reach this process for their keys (`partners add` tells them)",
    )
    topic_partitions: int = Field(default=6, ge=1, description="partitions of the domain topics")
    intake_url: str = Field(default="http://127.0.0.1:8001", description="where keys are served")
