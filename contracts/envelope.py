"""The envelope every event travels in, whatever its topic."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Final, Generic, TypeVar
from uuid import UUID

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

Payload = TypeVar("Payload", bound=BaseModel)


class Agency(StrEnum):
    """The data controllers and partners of the two Integration Points."""

    AA_MG = "AA-MG"  # Agentur für Arbeit Mönchengladbach (SGB III)
    JC_MG = "JC-MG"  # Jobcenter Mönchengladbach (SGB II)
    JC_RKN = "JC-RKN"  # Jobcenter Rhein-Kreis Neuss (SGB II)
    STADT_MG = "STADT-MG"  # Stadt Mönchengladbach (Ausländerbehörde, Sozialamt)
    RKN = "RKN"  # Rhein-Kreis Neuss (Ausländerbehörde, Sozialamt)


# The Kafka headers of every event on a domain topic, from its envelope (so that a reader can
# route or skip without parsing the value), and the key: the envelope's case_id.
EVENT_HEADERS: Final[dict[str, str]] = {
    "event_id": "the envelope's event_id: de-duplicate on it",
    "case_id": "the envelope's case_id, as the key",
    "type": "the envelope's type, e.g. intake.person_registered",
    "schema_version": "the envelope's schema_version, in decimal digits",
}
# W3C Trace Context, only on traced events: the publishing span's once tracing is on.
TRACE_HEADERS: Final[dict[str, str]] = {
    "traceparent": "W3C Trace Context: the trace the event belongs to (when traced)",
    "tracestate": "W3C Trace Context: vendor state (when there is any)",
}


class TraceContext(BaseModel):
    """W3C trace context of the command that caused the event (also sent as Kafka headers)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    traceparent: str | None = Field(default=None, max_length=55)
    tracestate: str | None = Field(default=None, max_length=512)


class Actor(BaseModel):
    """Who recorded the event, besides the agency: the signed-in person's role and a
    pseudonymous reference (a keyed hash of the provider's subject, per agency; never the
    name). Absent on events a process recorded in reaction to another event (its
    ``causation_id`` names that event, whose actor is the accountable one)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: str = Field(min_length=1, max_length=64, description="the role the person acted in")
    reference: str = Field(
        min_length=1,
        max_length=64,
        description="pseudonymous, stable per person and agency; only the agency's operator "
        "can tell whom it names (docs/data-protection.md)",
    )


class Envelope(BaseModel, Generic[Payload]):
    """Metadata common to all events; ``data`` is the topic's discriminated union.

    ``type`` and ``schema_version`` repeat the payload's so that a reader can route or
    skip an event without knowing every payload type.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: UUID = Field(description="UUIDv7, unique across all topics")
    case_id: UUID = Field(description="the person's case; the Kafka key everywhere")
    stream_version: Annotated[int, Field(ge=1)]
    type: str
    schema_version: Annotated[int, Field(ge=1)]
    occurred_at: AwareDatetime
    agency: Agency = Field(description="the controller on whose behalf the event was recorded")
    correlation_id: UUID = Field(
        description="shared by every event one command caused, and by the reactions to them"
    )
    causation_id: UUID | None = None
    trace: TraceContext = TraceContext()
    actor: Actor | None = Field(
        default=None, description="who acted (schema addition: absent on older events)"
    )
    data: Payload

    @model_serializer(mode="wrap")
    def _without_absent_actor(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # Additive: an event nobody signed for is written as it was before the field existed.
        dumped: dict[str, Any] = handler(self)
        if dumped.get("actor") is None:
            dumped.pop("actor", None)
        return dumped

    @model_validator(mode="after")
    def _type_matches_payload(self) -> Envelope[Payload]:
        data_type = getattr(self.data, "type", None)
        data_version = getattr(self.data, "schema_version", None)
        if data_type != self.type or data_version != self.schema_version:
            raise ValueError(
                f"envelope says {self.type} v{self.schema_version}, "
                f"payload is {data_type} v{data_version}"
            )
        return self
