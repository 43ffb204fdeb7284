"""What integrators read about the partner topics: the AsyncAPI document (generated from the
message contracts through FastStream, like the services' documents) and the same rendered as
one self-contained HTML page (no script, nothing fetched from elsewhere), which the partner
feed serves at ``/``."""

from __future__ import annotations

import json
from html import escape
from typing import Any

from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI

from contracts.partners import CategoryErased, ConsentEnded, Erased, ForwardedEvent
from contracts.topics import PARTNER_TOPIC_PREFIX
from services.chassis.kafka import KafkaAccess

CHANNEL = f"{PARTNER_TOPIC_PREFIX}{{partner}}.v1"
DESCRIPTION = (
    "One topic per network partner, readable only by that partner (SASL/SCRAM-SHA-512 with "
    "the credentials `partners add` printed; consumer groups starting with "
    "partner.<partner>.). It carries only events about persons whose valid consent names the "
    "partner and its purpose, only of the data categories the partner was subscribed for and "
    "the consent covers, under a pseudonym that is stable for this partner and means nothing "
    "elsewhere. An event's fields (data) are encrypted with a key of the person and the "
    "consent, which the partner fetches from the partner feed (GET <keys.url>/keys/{key_id} "
    "with 'Authorization: Bearer <keys.token>', both printed by `partners add`). When such a "
    "consent ends, its keys are deleted and a consent_ended notice asks the partner to delete "
    "what it received under it; nothing further follows. When the person is erased, every "
    "key of the person is deleted and an erased notice asks the partner to delete everything "
    "about the person. When the retention period of one data category of the person runs "
    "out, that category's keys are deleted and a category_erased notice asks the partner to "
    "delete what it received about the person in that category. What stays on the topic can "
    "no longer be read. Messages are keyed by the pseudonym (one person's messages keep their "
    "order) and may arrive more than once: de-duplicate on notice_id."
)


def asyncapi_document(bootstrap: str = "127.0.0.1:19092") -> str:
    """The AsyncAPI 3.0 document of the partner topics, as JSON."""
    access = KafkaAccess(bootstrap, "ip-partner-<partner>", "<secret>")
    broker = KafkaBroker(
        bootstrap, security=access.faststream_security(), description=DESCRIPTION, logger=None
    )
    broker.publisher(
        CHANNEL,
        title=CHANNEL,
        description="What the partner feed passes on to one partner.",
        schema=ForwardedEvent | ConsentEnded | Erased | CategoryErased,
    )
    document = AsyncAPI(
        broker,
        title="Integration Points: network partners' topics",
        version="1",
        description=DESCRIPTION,
    )
    spec = document.to_specification().to_jsonable()
    return json.dumps(spec, indent=2, ensure_ascii=False, sort_keys=True)


def html(document: dict[str, Any]) -> str:
    """The document as a page: servers and security, the channel, each message's fields."""
    schemas: dict[str, Any] = document["components"]["schemas"]
    info = document["info"]
    parts = [
        f"<h1>{escape(info['title'])}</h1>",
        f"<p>{escape(info['description'])}</p>",
        "<h2>Connecting</h2>",
        "<table><tr><th>server</th><th>protocol</th><th>security</th></tr>",
    ]
    for name, server in sorted(document["servers"].items()):
        security = ", ".join(_scheme(document, ref["$ref"]) for ref in server.get("security", []))
        parts.append(
            f"<tr><td>{escape(name)}: <code>{escape(server['host'])}</code></td>"
            f"<td>{escape(server['protocol'])}</td><td>{escape(security)}</td></tr>"
        )
    parts.append("</table>")
    for address, channel in sorted(document["channels"].items()):
        parts += [
            f"<h2>Channel <code>{escape(address)}</code></h2>",
            f"<p>{escape(channel.get('description', ''))}</p>",
        ]
    parts.append("<h2>Messages</h2>")
    payload = next(iter(document["components"]["messages"].values()))["payload"]
    variants = _variants(schemas, payload)
    for ref in variants:
        parts.append(_schema_table(schemas, ref))
    # A message's parts (the sealed data) carry how to read them: they get a table too.
    nested = sorted(n for n, spec in schemas.items() if "properties" in spec and n not in variants)
    if nested:
        parts.append("<h2>Parts of messages</h2>")
        parts += [_schema_table(schemas, name) for name in nested]
    parts.append("<h2>Enumerations</h2>")
    for name, schema in sorted(schemas.items()):
        if "enum" in schema:
            values = ", ".join(f"<code>{escape(str(v))}</code>" for v in schema["enum"])
            parts.append(f"<p><b>{escape(name)}</b>: {values}</p>")
    body = "\n".join(parts)
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(info['title'])}</title><style>{_STYLE}</style></head>"
        f"<body>{body}<p class='small'>AsyncAPI {escape(document['asyncapi'])}: "
        "<a href='asyncapi.json'>asyncapi.json</a></p></body></html>\n"
    )


_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;"
    "line-height:1.45}table{border-collapse:collapse;margin:.5rem 0 1.5rem}"
    "td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left;vertical-align:top}"
    "code{background:#f4f4f4;padding:0 .2rem}.small{color:#666;font-size:.9rem}"
)


def _scheme(document: dict[str, Any], ref: str) -> str:
    scheme = document["components"]["securitySchemes"][ref.rsplit("/", 1)[-1]]
    return f"{scheme['type']}" + (f" ({scheme['description']})" if "description" in scheme else "")


def _name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1].replace("%7B", "{").replace("%7D", "}")


def _variants(schemas: dict[str, Any], payload: dict[str, Any]) -> list[str]:
    target = schemas.get(_name(payload["$ref"]), payload) if "$ref" in payload else payload
    options = target.get("oneOf") or target.get("anyOf") or [payload]
    return [_name(option["$ref"]) for option in options]


def _type(spec: dict[str, Any]) -> str:
    if "$ref" in spec:
        return _name(spec["$ref"])
    if "const" in spec:
        return f"“{spec['const']}”"
    if "enum" in spec:
        return " | ".join(map(str, spec["enum"]))
    kind = str(spec.get("type", "any"))
    return f"{kind} ({spec['format']})" if "format" in spec else kind


def _schema_table(schemas: dict[str, Any], name: str) -> str:
    schema = schemas[name]
    required = set(schema.get("required", []))
    rows = "".join(
        f"<tr><td><code>{escape(field)}</code>{'' if field in required else ' (optional)'}</td>"
        f"<td>{escape(_type(spec))}</td><td>{escape(spec.get('description', ''))}</td></tr>"
        for field, spec in schema.get("properties", {}).items()
    )
    return (
        f"<h3>{escape(name)}</h3><p>{escape(schema.get('description', ''))}</p>"
        f"<table><tr><th>field</th><th>type</th><th>meaning</th></tr>{rows}</table>"
    )
