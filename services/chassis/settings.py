"""Settings shared by every process: the broker, telemetry and logging.

Each process declares one subclass with its own prefix; nothing else reads the environment.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.chassis.kafka import KafkaAccess, Mechanism, Protocol


class ProcessSettings(BaseSettings):
    """Common knobs; a process's own class adds its database, port and topics."""

    model_config = SettingsConfigDict(
        env_prefix="IP_", extra="ignore", frozen=True, populate_by_name=True
    )

    kafka_bootstrap: str = Field(default="127.0.0.1:19092", description="host:port, loopback")
    kafka_security_protocol: Protocol | None = Field(
        default=None, description="None: SASL_PLAINTEXT with a user, else PLAINTEXT"
    )
    kafka_sasl_mechanism: Mechanism = "SCRAM-SHA-512"
    kafka_sasl_username: str | None = Field(
        default=None, description="this process's principal; None: an open broker"
    )
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: str | None = Field(default=None, description="CA of a TLS listener")
    trace_exporter: Literal["none", "console", "zipkin"] = Field(
        default="none", description="none: no tracing at all (the API's no-op, nil overhead)"
    )
    zipkin_endpoint: str = "http://127.0.0.1:9411/api/v2/spans"
    trace_sample_ratio: float = Field(default=1.0, ge=0.0, le=1.0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool | None = Field(default=None, description="None: JSON unless on a TTY")
    reactions: bool = Field(
        default=True, description="consume other services' topics (off: an HTTP-only process)"
    )
    actor_reference_key: SecretStr = Field(
        default=SecretStr("development-only-actor-reference-key"),
        description="HMAC key of the pseudonymous actor references events record; a "
        "deployment sets its own and keeps it (a new key gives everyone new references)",
    )

    @property
    def kafka(self) -> KafkaAccess:
        """The broker as this process's principal: every Kafka client is built from it."""
        return KafkaAccess(
            bootstrap=self.kafka_bootstrap,
            username=self.kafka_sasl_username,
            password=self.kafka_sasl_password.get_secret_value()
            if self.kafka_sasl_password
            else None,
            mechanism=self.kafka_sasl_mechanism,
            cafile=self.kafka_ssl_cafile,
            protocol=self.kafka_security_protocol,
        )


class RelaySettings(ProcessSettings):
    """An outbox relay: the service database it drains."""

    relay_database_url: str = Field(description="DSN of the service database with the outbox")
    relay_name: str = Field(default="relay", description="which service's relay, for logs")
    relay_metrics_port: int | None = Field(
        default=None, ge=1, le=65535, description="serve /metrics on 127.0.0.1 at this port"
    )
