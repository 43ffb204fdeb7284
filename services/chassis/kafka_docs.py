"""What FastStream leaves out of, or gets wrong in, an AsyncAPI document of Kafka topics.

FastStream's generator describes the value only, and with two inaccuracies: every message's
``correlationId`` points at a ``correlation_id`` header this platform never sends (that is
FastStream's own publishing), and a batch subscriber's message is given an array of values
while each Kafka record holds one. ``kafka_messages`` completes each message with the record's
key (the Kafka message binding), its headers, and a ``correlationId`` that says where the id
really is; ``channel_parameters`` declares the expressions in a channel's address, which
AsyncAPI 3 requires.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

BINDING_VERSION: Final = "0.4.0"  # the Kafka bindings' version FastStream writes for channels

JsonObject = dict[str, Any]


def kafka_messages(
    document: JsonObject,
    *,
    key: JsonObject,
    headers: Mapping[str, str],
    optional_headers: Mapping[str, str],
    correlation: str | None,
) -> None:
    """Give every message of ``document`` its key, its headers (name: description) and its
    correlation id's location (None: the messages carry none); one value per message."""
    schemas: JsonObject = document["components"]["schemas"]
    for message in document["components"]["messages"].values():
        _one_value_per_record(message, schemas)
        message["headers"] = {
            "type": "object",
            "description": "Kafka headers (UTF-8 values)",
            "properties": {
                name: {"type": "string", "description": text}
                for name, text in {**headers, **optional_headers}.items()
            },
            "required": list(headers),
        }
        message["bindings"] = {"kafka": {"key": key, "bindingVersion": BINDING_VERSION}}
        if correlation is None:
            message.pop("correlationId", None)
        else:
            message["correlationId"] = {
                "location": correlation,
                "description": "shared by everything one command caused",
            }


def channel_parameters(document: JsonObject, parameters: Mapping[str, JsonObject]) -> None:
    """Declare the ``{name}`` expressions of the channels' addresses."""
    for channel in document["channels"].values():
        named = {n: p for n, p in parameters.items() if f"{{{n}}}" in channel["address"]}
        if named:
            channel["parameters"] = named


def _one_value_per_record(message: JsonObject, schemas: JsonObject) -> None:
    ref = message["payload"].get("$ref", "")
    name = ref.rsplit("/", 1)[-1].replace("%7B", "{").replace("%7D", "}")
    wrapper = schemas.get(name, {})
    if wrapper.get("type") == "array" and "items" in wrapper:
        message["payload"] = wrapper["items"]
        del schemas[name]
