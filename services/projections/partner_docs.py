"""What integrators read about the partner topics: the AsyncAPI document (generated from the
message contracts through FastStream, like the services' documents) and the same rendered as
one self-contained HTML page (no script, nothing fetched from elsewhere), which the partner
feed serves at ``/``."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Annotated, Any, Final, Union

from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from pydantic import BaseModel, Field, TypeAdapter

from contracts.envelope import TRACE_HEADERS
from contracts.intake import Partner
from contracts.partners import NOTICE_HEADERS, CategoryErased, ConsentEnded, Erased, ForwardedEvent
from contracts.topics import CODECS, PARTNER_TOPIC_PREFIX
from services.chassis.kafka import KafkaAccess
from services.chassis.kafka_docs import channel_parameters, kafka_messages
from services.projections.purpose import data_category

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
    " Employers are subscribed one organisation each (topic ip.partner.employer_"
    "<Betriebsnummer>.v1, for persons whose consent names that Betriebsnummer) and receive "
    "only the consented profile (intake.profile_recorded) and, of a work-permission decision "
    "(placement.permission_decided), request_id, granted, valid_until and decided_on."
)


# Where integrators read the services' own documents, which describe each event's fields
# (the partner feed serves the committed ones; in the repository: docs/asyncapi/).
SERVICE_DOCUMENTS: Final = ("intake", "language", "recognition", "placement")
DOCS: Final = Path(__file__).resolve().parents[2] / "docs" / "asyncapi"
OPENED = "OpenedData"


def asyncapi_document(
    bootstrap: str = "127.0.0.1:19092", public_url: str = "http://127.0.0.1:8120"
) -> str:
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
    kafka_messages(
        spec,
        key={
            "type": "string",
            "description": "the message's person (the pseudonym): one person's messages keep "
            "their order",
        },
        headers=NOTICE_HEADERS,
        optional_headers=TRACE_HEADERS,
        correlation=None,  # a notice is caused by one event: notice_id, no correlation id
    )
    channel_parameters(
        spec,
        {
            "partner": {
                "description": "the partner, as consents name it; it reads its own topic only",
                "enum": sorted(p.value for p in Partner),
            }
        },
    )
    _add_opened_data(spec["components"]["schemas"])
    for message in spec["components"]["messages"].values():
        message["tags"] = [
            {
                "name": service,
                "description": f"the fields of {service}'s events ({service}.*): "
                f"docs/asyncapi/{service}.json",
                "externalDocs": {"url": f"{public_url}/asyncapi/{service}.json"},
            }
            for service in SERVICE_DOCUMENTS
        ]
    return json.dumps(spec, indent=2, ensure_ascii=False, sort_keys=True)


def forwardable() -> list[type[BaseModel]]:
    """The event types a partner can receive: every one of a data category."""
    return [
        event
        for codec in CODECS.values()
        for event in codec.event_types
        if data_category(event.model_fields["type"].default) is not None
    ]


def _add_opened_data(schemas: dict[str, Any]) -> None:
    """``OpenedData``: what ``data`` holds once opened, one schema per event type, as the
    feed opens it (personal fields as text, null once their key is gone)."""
    events: Any = Union[tuple(forwardable())]  # noqa: UP007  # a union built at run time
    opened = TypeAdapter(Annotated[events, Field(discriminator="type")]).json_schema(
        mode="serialization", ref_template="#/components/schemas/{model}"
    )
    gone = {"type": "null", "description": "the person's key is gone"}
    defs = _replace_ref(opened.pop("$defs"), "#/components/schemas/Sealed", gone)
    del defs["Sealed"]
    for name, schema in defs.items():
        if name in schemas and schemas[name] != schema:
            raise ValueError(f"two schemas named {name}")
        if schema.get("properties", {}).get("type", {}).get("const"):
            # What the partner's purpose allows may be less than all of an event's fields.
            schema["required"] = ["type"]
        schemas[name] = schema
    schemas[OPENED] = {
        "description": "The data of a ForwardedEvent once opened: the fields of the event "
        "its event_type names (the type field), as the services' documents describe them "
        "(docs/asyncapi/<service>.json); a personal field is null once the person's key is "
        "gone. Only type is required: a field the partner's purpose does not allow is left "
        "out.",
        "discriminator": "type",
        "oneOf": opened["oneOf"],
    }


def _replace_ref(value: Any, ref: str, by: dict[str, Any]) -> Any:
    if isinstance(value, dict):
        if value.get("$ref") == ref:
            return dict(by)
        return {k: _replace_ref(v, ref, by) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_ref(v, ref, by) for v in value]
    return value


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
    message = next(iter(document["components"]["messages"].values()))
    variants = _variants(schemas, message["payload"])
    for ref in variants:
        parts.append(_schema_table(schemas, ref))
    opened = _variants(schemas, {"$ref": f"#/components/schemas/{OPENED}"})
    # Relative: the feed that serves this page serves those documents too.
    links = ", ".join(
        f"<a href='asyncapi/{escape(tag['name'])}.json'>{escape(tag['name'])}</a>"
        for tag in message.get("tags", [])
    )
    parts += [
        f"<h2>Opened data</h2><p>{escape(schemas[OPENED]['description'])} "
        f"The services' documents: {links}.</p>",
        *(_schema_table(schemas, ref) for ref in opened),
    ]
    # A message's parts (the sealed data) carry how to read them: they get a table too.
    nested = sorted(
        n
        for n, spec in schemas.items()
        if "properties" in spec and n not in variants and n not in opened
    )
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
