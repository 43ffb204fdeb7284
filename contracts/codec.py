"""Reading a topic's events, whatever schema version they were written in.

Evolution is additive; a breaking change gets a new ``schema_version`` and an upcaster that
turns the old payload into the new one. The topic's union names only the newest version of
each type, so every reader (event store, projections, reactions) parses through here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, TypeAdapter

from contracts.envelope import Envelope

Payload = TypeVar("Payload", bound=BaseModel)

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class TopicCodec(Generic[Payload]):
    """Parses a topic's envelopes, upcasting old payload versions first."""

    def __init__(
        self,
        adapter: TypeAdapter[Envelope[Payload]],
        event_types: tuple[type[BaseModel], ...],
        upcasters: Mapping[tuple[str, int], Upcaster] | None = None,
    ) -> None:
        self.adapter = adapter
        self.event_types = event_types
        self._upcasters = dict(upcasters or {})

    @property
    def current_versions(self) -> dict[str, int]:
        """The newest schema version of each event type the topic carries."""
        return {
            cls.model_fields["type"].default: cls.model_fields["schema_version"].default
            for cls in self.event_types
        }

    def upcast(self, raw: dict[str, Any]) -> dict[str, Any]:
        """The envelope as a dict at the newest schema version of its type."""
        current = dict(raw)
        while (
            step := self._upcasters.get((current["type"], current["schema_version"]))
        ) is not None:
            data = step(dict(current["data"]))
            current["schema_version"] += 1
            data["schema_version"] = current["schema_version"]
            current["data"] = data
        return current

    def parse(self, raw: bytes | str | dict[str, Any]) -> Envelope[Payload]:
        """Validate an envelope from JSON (bytes or text) or an already decoded dict."""
        decoded = raw if isinstance(raw, dict) else json.loads(raw)
        return self.adapter.validate_python(self.upcast(decoded))
