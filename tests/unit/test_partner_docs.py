"""What integrators read about the partner topics: the AsyncAPI document and its page."""

from __future__ import annotations

import json
import re

import httpx
from fastapi import FastAPI

from contracts.intake import Partner
from contracts.partners import CategoryErased, ConsentEnded, Erased, ForwardedEvent, SealedData
from services.asyncapi import DOCS
from services.projections.partner_app import router
from services.projections.partner_docs import (
    CHANNEL,
    SERVICE_DOCUMENTS,
    asyncapi_document,
    forwardable,
    html,
)
from services.projections.purpose import CATEGORY_OF


def test_the_document_describes_the_partner_channel_its_messages_and_security() -> None:
    """One channel ip.partner.{partner}.v1, its four messages and the sealed data,
    SCRAM-SHA-512 on the server."""
    document = json.loads(asyncapi_document())

    assert list(document["channels"]) == [CHANNEL]
    schemas = document["components"]["schemas"]
    for message in (ForwardedEvent, ConsentEnded, Erased, CategoryErased, SealedData):
        assert set(message.model_fields) == set(schemas[message.__name__]["properties"])
    schemes = document["components"]["securitySchemes"]
    assert [s["type"] for s in schemes.values()] == ["scramSha512"]
    assert json.loads((DOCS / "partners.json").read_text()) == document


def test_the_page_shows_every_field_and_fetches_nothing_from_elsewhere() -> None:
    """Self-contained: no script, links only to documents the feed serves itself; every
    field of every message, of the sealed data and of every event it may open is on it."""
    page = html(json.loads(asyncapi_document()))

    assert CHANNEL in page
    for message in (ForwardedEvent, ConsentEnded, Erased, CategoryErased, SealedData):
        assert f"<h3>{message.__name__}</h3>" in page
        for field in message.model_fields:
            assert f"<code>{field}</code>" in page, field
    assert "<script" not in page
    for event in forwardable():
        assert f"<h3>{event.__name__}</h3>" in page
        for field in event.model_fields:
            assert f"<code>{field}</code>" in page, field
    assert re.findall(r"(?:src|href)=['\"]([^'\"]+)", page) == [
        *(f"asyncapi/{service}.json" for service in SERVICE_DOCUMENTS),
        "asyncapi.json",
    ]


async def test_the_feed_serves_the_page_and_the_document() -> None:
    """GET / is the page, GET /asyncapi.json the document."""
    app = FastAPI()
    app.include_router(router)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://f") as client:
        page = await client.get("/")
        document = await client.get("/asyncapi.json")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "network partners" in page.text
    assert document.json()["channels"][CHANNEL]["address"] == CHANNEL


def test_the_channel_declares_its_partner_parameter() -> None:
    """AsyncAPI 3 requires a parameters object for {partner} in the address: every partner
    a consent can name."""
    channel = json.loads(asyncapi_document())["channels"][CHANNEL]

    assert "{partner}" in channel["address"]
    assert set(channel["parameters"]) == {"partner"}
    assert channel["parameters"]["partner"]["enum"] == sorted(p.value for p in Partner)


def test_the_opened_data_has_a_schema_for_every_event_a_partner_can_receive() -> None:
    """ForwardedEvent.data names OpenedData, which holds one schema per forwardable event
    type, personal fields as text or null (never the sealed form)."""
    document = json.loads(asyncapi_document())
    schemas = document["components"]["schemas"]

    assert "OpenedData" in schemas["ForwardedEvent"]["properties"]["data"]["description"]
    opened = [option["$ref"].rsplit("/", 1)[-1] for option in schemas["OpenedData"]["oneOf"]]
    assert opened == [event.__name__ for event in forwardable()]
    types = {schemas[name]["properties"]["type"]["const"] for name in opened}
    assert types == {t for t, category in CATEGORY_OF.items() if category is not None}
    given_name = schemas["PersonRegistered"]["properties"]["given_name"]["anyOf"]
    assert {"type": "string"} in given_name
    assert "Sealed" not in schemas
    assert "Sealed" not in json.dumps(schemas["OpenedData"])


async def test_the_document_links_the_services_documents_the_feed_serves() -> None:
    """Each message's tags link the four services' documents; the feed serves each, as
    committed (the drift test keeps them equal to the code)."""
    document = json.loads(asyncapi_document(public_url="http://f"))
    (message,) = document["components"]["messages"].values()
    app = FastAPI()
    app.include_router(router)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://f") as client:
        for tag in message["tags"]:
            answer = await client.get(tag["externalDocs"]["url"])
            assert answer.status_code == 200, tag
            assert answer.content == (DOCS / f"{tag['name']}.json").read_bytes()
        assert (await client.get("/asyncapi/secrets.json")).status_code == 404

    assert [tag["name"] for tag in message["tags"]] == list(SERVICE_DOCUMENTS)
