"""What integrators read about the partner topics: the AsyncAPI document and its page."""

from __future__ import annotations

import json
import re

import httpx
from fastapi import FastAPI

from contracts.partners import CategoryErased, ConsentEnded, Erased, ForwardedEvent, SealedData
from services.asyncapi import DOCS
from services.projections.partner_app import router
from services.projections.partner_docs import CHANNEL, asyncapi_document, html


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
    """Self-contained: no script, no external link; every field of every message and of the
    sealed data is on it."""
    page = html(json.loads(asyncapi_document()))

    assert CHANNEL in page
    for message in (ForwardedEvent, ConsentEnded, Erased, CategoryErased, SealedData):
        assert f"<h3>{message.__name__}</h3>" in page
        for field in message.model_fields:
            assert f"<code>{field}</code>" in page, field
    assert "<script" not in page
    assert re.findall(r"(?:src|href)=['\"]([^'\"]+)", page) == ["asyncapi.json"]


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
