"""How a process reaches the broker: its address and, where the broker asks for it, the
principal it authenticates as. Every Kafka client of the platform is built from one
``KafkaAccess`` (``client_kwargs`` for aiokafka, ``faststream_security`` for FastStream),
so no client can forget the credentials or spell them differently."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

Mechanism = Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"]
Protocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]


@dataclass(frozen=True)
class KafkaAccess:
    """The broker's address and the principal a client speaks as (none: an open broker)."""

    bootstrap: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    mechanism: Mechanism = "SCRAM-SHA-512"
    cafile: str | None = None  # the CA of a TLS listener (a cluster's); loopback has none
    protocol: Protocol | None = None  # None: SASL when there is a user, TLS when a CA

    @property
    def principal(self) -> str | None:
        """``User:<name>``, as the broker's ACLs name this client."""
        return None if self.username is None else f"User:{self.username}"

    @property
    def security_protocol(self) -> Protocol:
        if self.protocol is not None:
            return self.protocol
        if self.username is None:
            return "SSL" if self.cafile else "PLAINTEXT"
        return "SASL_SSL" if self.cafile else "SASL_PLAINTEXT"

    def _ssl_context(self) -> ssl.SSLContext | None:
        if not self.security_protocol.endswith("SSL"):
            return None
        return ssl.create_default_context(cafile=self.cafile)

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for any aiokafka client (producer, consumer, admin)."""
        kwargs: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap,
            "security_protocol": self.security_protocol,
        }
        context = self._ssl_context()
        if context is not None:
            kwargs["ssl_context"] = context
        if self.security_protocol.startswith("SASL"):
            kwargs |= {
                "sasl_mechanism": self.mechanism,
                "sasl_plain_username": self.username or "",
                "sasl_plain_password": self.password or "",
            }
        return kwargs

    def faststream_security(self) -> BaseSecurity | None:
        """The same settings as FastStream's ``security`` object (it builds the clients)."""
        context = self._ssl_context()
        tls = context is not None
        if not self.security_protocol.startswith("SASL"):
            return BaseSecurity(ssl_context=context, use_ssl=True) if tls else None
        kind = {"SCRAM-SHA-512": SASLScram512, "SCRAM-SHA-256": SASLScram256}.get(
            self.mechanism, SASLPlaintext
        )
        return kind(self.username or "", self.password or "", ssl_context=context, use_ssl=tls)

    def as_user(self, username: str, password: str) -> KafkaAccess:
        """The same broker, another principal."""
        return replace(self, username=username, password=password)
