"""The workloads: real event payloads from the golden samples, and fast-made topic records."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from pydantic import BaseModel

from contracts.common import Site
from contracts.intake import TOPIC as INTAKE_TOPIC
from contracts.intake import FirstContactMade, PersonRegistered
from contracts.topics import CODECS

SAMPLES = Path(__file__).resolve().parents[1] / "contracts" / "samples"

# One service per domain topic; the names the table uses.
SERVICES = {
    "intake": INTAKE_TOPIC,
    "language": "ip.language.path.v1",
    "recognition": "ip.recognition.procedure.v1",
    "placement": "ip.placement.case.v1",
}


def sample_payloads(topic: str) -> list[BaseModel]:
    """The topic's golden samples at their current schema version, as payloads to append."""
    codec = CODECS[topic]
    current = codec.current_versions
    payloads: list[BaseModel] = []
    for path in sorted((SAMPLES / topic).glob("*.json")):
        raw = json.loads(path.read_text("utf-8"))
        if current.get(raw["type"]) == raw["schema_version"]:
            payloads.append(codec.parse(raw).data)
    if not payloads:
        raise LookupError(f"no current samples for {topic}")
    return payloads


def registration(index: int) -> PersonRegistered:
    """A registration with plain (unsealed) personal fields: what the Agentur view stores."""
    return PersonRegistered(
        given_name=f"Given{index}",
        family_name=f"Family{index}",
        date_of_birth=date(1980 + index % 30, 1 + index % 12, 1 + index % 28),
        nationality="SYR",
        languages=("ar", "de"),
        site=Site.MG,
        town="Mönchengladbach",
        allocated_on=date(2016, 2, 1 + index % 28),
    )


def first_contact(index: int) -> FirstContactMade:
    return FirstContactMade(contacted_on=date(2016, 3, 1 + index % 28), interpreter_language="ar")


@dataclass(frozen=True)
class Record:
    """One Kafka record as the relay publishes it."""

    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]


def _envelope(payload: BaseModel) -> dict[str, Any]:
    data: Any = payload
    return {
        "event_id": str(uuid4()),
        "case_id": str(uuid4()),
        "stream_version": 1,
        "type": data.type,
        "schema_version": data.schema_version,
        "occurred_at": datetime(2016, 2, 1, 9, 30, tzinfo=UTC).isoformat(),
        "agency": "AA-MG",
        "correlation_id": str(uuid4()),
        "causation_id": None,
        "trace": {"traceparent": None, "tracestate": None},
        "data": payload.model_dump(mode="json"),
    }


def intake_records(count: int, *, seed: int = 7) -> Iterator[Record]:
    """``count`` intake envelopes: per case a registration, then its first contact.

    Made from two validated templates with fresh ids (UUIDs from a seeded generator), so a
    million take seconds rather than minutes; the projection parses them like any other.
    """
    rng = random.Random(seed)  # noqa: S311  # reproducible ids, not secrets
    templates = [_envelope(registration(0)), _envelope(first_contact(0))]
    case_id = ""
    for index in range(count):
        version = index % 2 + 1
        if version == 1:
            case_id = str(UUID(int=rng.getrandbits(128), version=4))
        envelope = dict(templates[version - 1])
        event_id = str(UUID(int=rng.getrandbits(128), version=4))
        envelope["event_id"] = event_id
        envelope["case_id"] = case_id
        envelope["stream_version"] = version
        envelope["correlation_id"] = event_id
        yield Record(
            key=case_id.encode(),
            value=json.dumps(envelope, separators=(",", ":")).encode(),
            headers=[
                ("event_id", event_id.encode()),
                ("case_id", case_id.encode()),
                ("type", envelope["type"].encode()),
                ("schema_version", str(envelope["schema_version"]).encode()),
            ],
        )
