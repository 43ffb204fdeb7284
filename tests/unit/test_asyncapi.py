"""The AsyncAPI documents integrators read are the ones the code generates."""

from __future__ import annotations

import json

from services.asyncapi import DOCS, SERVICES, documents, drifted


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
