"""An example network partner: reads its own topic with the credentials ``partners add``
gave it, keeps what it received per person (pseudonym), and deletes a person's data when a
``consent_ended`` notice arrives. Needs only aiokafka; no code of the platform.

With ``make run`` running, in a second terminal::

    set -a; . .local/dev/stack.env; set +a
    IP_PARTNERS_CREDENTIALS_DIR=.local/dev/partners .venv/bin/python -m \\
        services.projections.partners add iq_counselling --purpose recognition \\
        --categories recognition profile
    .venv/bin/python examples/partner_consumer.py .local/dev/partners/iq_counselling.json

Then record a consent naming ``iq_counselling`` for ``recognition`` and a recognition
counselling for a case (README, "Network partners"); the consumer prints it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer


def consumer(settings: dict[str, str], group: str) -> AIOKafkaConsumer:
    """A consumer of the partner's topic, in one of the partner's own consumer groups."""
    return AIOKafkaConsumer(
        settings["topic"],
        bootstrap_servers=settings["bootstrap.servers"],
        security_protocol=settings["security.protocol"],
        sasl_mechanism=settings["sasl.mechanism"],
        sasl_plain_username=settings["sasl.username"],
        sasl_plain_password=settings["sasl.password"],
        group_id=settings["group.id.prefix"] + group,
        auto_offset_reset="earliest",  # a new partner starts with the backlog
        enable_auto_commit=True,
    )


class PartnerStore:
    """What the partner holds, per person; emptied for a person whose consent ended."""

    def __init__(self) -> None:
        self.events: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.seen: set[str] = set()  # notice ids: a message may arrive more than once

    def take(self, message: dict[str, Any]) -> str | None:
        """Apply one message; returns a line to print (None for a duplicate)."""
        if message["notice_id"] in self.seen:
            return None
        self.seen.add(message["notice_id"])
        person = message["person"]
        if message["kind"] == "consent_ended":
            dropped = len(self.events.pop(person, []))
            return f"{person}: consent {message['reason']}, deleted {dropped} events"
        self.events[person].append(message)
        return f"{person}: {message['event_type']} ({message['category']}) {message['data']}"


async def run(settings: dict[str, str], group: str, idle_exit: float | None) -> PartnerStore:
    store = PartnerStore()
    reader = consumer(settings, group)
    await reader.start()
    print(f"reading {settings['topic']} as {settings['sasl.username']}", flush=True)
    last = time.monotonic()
    try:
        while idle_exit is None or time.monotonic() - last < idle_exit:
            batch = await reader.getmany(timeout_ms=500)
            for record in (r for part in batch.values() for r in part):
                last = time.monotonic()
                line = store.take(json.loads(record.value or b"{}"))
                if line is not None:
                    print(line, flush=True)
    finally:
        await reader.stop()
    return store


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("credentials", type=Path, help="the JSON file `partners add` wrote")
    parser.add_argument("--group", default="example", help="after the partner's group prefix")
    parser.add_argument(
        "--idle-exit", type=float, default=None, metavar="S", help="stop after S quiet seconds"
    )
    args = parser.parse_args(argv)
    settings = json.loads(args.credentials.read_text())
    try:
        store = asyncio.run(run(settings, args.group, args.idle_exit))
    except KeyboardInterrupt:
        return 0
    held = sum(len(events) for events in store.events.values())
    print(f"holding {held} events of {len(store.events)} persons", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
