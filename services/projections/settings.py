"""The Agentur view process's settings: the only place it reads the environment."""

from __future__ import annotations

from pydantic import Field

from services.chassis.settings import ProcessSettings


class AgenturViewSettings(ProcessSettings):
    """The view's own database, its HTTP listener, and how it obtains person keys."""

    view_database_url: str = Field(
        default="postgresql://proj_aa_mg@127.0.0.1:15432/proj_aa_mg",
        validation_alias="IP_DB_PROJ_AA_MG",
    )
    view_consumer_group: str = Field(default="projection.aa_mg", description="Kafka group id")
    view_max_batch: int = Field(
        default=1000, ge=1, le=10_000, description="events applied per transaction at most"
    )
    view_host: str = "127.0.0.1"
    view_port: int = Field(default=8101, ge=1, le=65535)
    intake_url: str = Field(default="http://127.0.0.1:8001", description="where keys are served")
    key_reader_token: str = Field(default="", description="bearer token for intake's key API")
