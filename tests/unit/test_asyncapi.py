"""The AsyncAPI documents integrators read are the ones the code generates."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from contracts.envelope import EVENT_HEADERS, TRACE_HEADERS
from contracts.intake import Partner
from contracts.partners import NOTICE_HEADERS, Erased, notice_headers
from contracts.topics import CODECS
from services.asyncapi import DOCS, SERVICES, documents, drifted
from services.chassis.eventstore import kafka_headers

DOCUMENTS = [*SERVICES, "partners"]
SAMPLES = Path(__file__).resolve().parents[2] / "contracts" / "samples"


def _schema(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """``schema``, or what its ``$ref`` names in the document's components."""
    if "$ref" not in schema:
        return schema
    name = schema["$ref"].rsplit("/", 1)[-1].replace("%7B", "{").replace("%7D", "}")
    found: dict[str, Any] = document["components"]["schemas"][name]
    return found


def _messages(name: str) -> list[dict[str, Any]]:
    document = json.loads(documents()[name])
    return list(document["components"]["messages"].values())


def test_committed_documents_match_the_code() -> None:
    """A contract or subscriber change without `python -m services.asyncapi --write` fails."""
    assert drifted() == []


def test_every_service_documents_its_topic_and_subscriptions() -> None:
    """Each document names the service's own topic, and the topics its reactions read."""
    for name, (spec, _) in SERVICES.items():
        document = json.loads(documents()[name])

        actions = {operation["action"] for operation in document["operations"].values()}
        assert spec.topic in document["channels"], name
        assert "send" in actions, name
        assert ("receive" in actions) == bool(spec.reactions), name
        assert (DOCS / f"{name}.json").is_file()


@pytest.mark.parametrize("name", DOCUMENTS)
def test_every_correlation_id_points_at_what_the_message_carries(name: str) -> None:
    """A correlationId's location resolves to a required property of the message's payload
    or headers (FastStream's default names a header the platform never sends)."""
    document = json.loads(documents()[name])
    for message in document["components"]["messages"].values():
        if "correlationId" not in message:
            continue
        where, _, pointer = message["correlationId"]["location"].partition("#/")
        part = {"$message.payload": message["payload"], "$message.header": message["headers"]}
        target = _schema(document, part[where])
        assert pointer in target["properties"], (name, message["title"])
        assert pointer in target["required"], (name, message["title"])


@pytest.mark.parametrize("name", list(SERVICES))
def test_service_messages_document_the_key_and_headers_the_outbox_writes(name: str) -> None:
    """Each message names its Kafka key (the case id, a binding) and the headers the outbox
    gives every event (required) and the trace context (optional); one envelope per record,
    also for batch subscribers."""
    spec, _ = SERVICES[name]
    document = json.loads(documents()[name])
    sample = CODECS[spec.topic].parse(next((SAMPLES / spec.topic).glob("*.json")).read_bytes())
    for message in document["components"]["messages"].values():
        headers = message["headers"]
        assert message["bindings"]["kafka"]["key"] == {
            "type": "string",
            "format": "uuid",
            "description": "the envelope's case_id: one person's events keep their order",
        }
        assert set(headers["properties"]) == {*EVENT_HEADERS, *TRACE_HEADERS}
        assert headers["required"] == list(EVENT_HEADERS)
        assert set(headers["required"]) <= set(kafka_headers(sample)) <= set(headers["properties"])
        assert "correlation_id" in _schema(document, message["payload"])["properties"]


def test_partner_messages_document_the_key_and_headers_the_feed_sends() -> None:
    """The partner topic's key is the pseudonym, its headers those the feed sets; it has no
    correlation id (a notice is caused by one event: notice_id)."""
    (message,) = _messages("partners")
    assert message["bindings"]["kafka"]["key"]["type"] == "string"
    assert "pseudonym" in message["bindings"]["kafka"]["key"]["description"]
    assert message["headers"]["required"] == list(NOTICE_HEADERS)
    notice = Erased(
        notice_id=uuid4(), partner=Partner.IQ_COUNSELLING, person="p-1", erased_at=datetime.now(UTC)
    )
    assert set(notice_headers(notice)) == set(NOTICE_HEADERS)
    assert "correlationId" not in message
