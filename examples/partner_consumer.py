"""An example network partner: reads its own topic with the credentials ``partners add``
gave it, opens each event with the key it fetches from the partner feed (``keys.url``,
``keys.token``), keeps what it received per person (pseudonym), and deletes it when a
``consent_ended`` (what that consent allowed), ``category_erased`` (one category of the
person, whose retention period ran out) or ``erased`` (everything about the person) notice
arrives. A key that is gone (the consent ended, the person was erased) means the event
cannot be read: it is skipped. Needs only aiokafka and cryptography; no code of the platform.

With ``make run`` running, in a second terminal::

    set -a; . .local/dev/stack.env; set +a
    IP_PARTNERS_CREDENTIALS_DIR=.local/dev/partners .venv/bin/python -m \\
        services.projections.partners add iq_counselling --purpose recognition \\
        --categories recognition profile
    .venv/bin/python examples/partner_consumer.py .local/dev/partners/iq_counselling.json

It prints the demo persons' recognition counsellings (each consented to IQ for recognition
first). For a case of your own, record a consent naming ``iq_counselling`` for
``recognition`` and a recognition counselling: README, "Network partners", has both commands.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import sys
import time
import urllib.error
import urllib.request
from collections import defaultdict
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


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


class FeedKeys:
    """Fetches the keys of the partner's messages from the partner feed."""

    def __init__(self, settings: dict[str, str]) -> None:
        self._url = settings["keys.url"].rstrip("/")
        self._token = settings["keys.token"]

    def fetch(self, key_id: str) -> bytes | None:
        """The key's secret; None once it is gone (404). Blocking: run it in a thread."""
        request = urllib.request.Request(  # noqa: S310  # the URL `partners add` gave us
            f"{self._url}/keys/{key_id}", headers={"Authorization": f"Bearer {self._token}"}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
                return base64.b64decode(json.load(answer)["secret"])
        except urllib.error.HTTPError as error:
            if error.code == 404:  # the key was deleted
                return None
            raise


def opened(message: dict[str, Any], secret: bytes) -> dict[str, Any]:
    """The event's fields; the associated data binds them to this message and person."""
    sealed = message["data"]
    plaintext = AESGCM(secret).decrypt(
        base64.b64decode(sealed["nonce"]),
        base64.b64decode(sealed["ciphertext"]),
        f"{message['person']}/{message['notice_id']}".encode(),
    )
    data: dict[str, Any] = json.loads(plaintext)
    return data


class PartnerStore:
    """What the partner holds, per person; emptied as the notices ask."""

    def __init__(self) -> None:
        self.events: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.seen: set[str] = set()  # notice ids: a message may arrive more than once

    def take(self, message: dict[str, Any], secret: bytes | None = None) -> str | None:
        """Apply one message (an event with its key's secret, None if the key is gone);
        returns a line to print (None for a duplicate)."""
        if message["notice_id"] in self.seen:
            return None
        self.seen.add(message["notice_id"])
        person = message["person"]
        if message["kind"] == "erased":
            dropped = len(self.events.pop(person, []))
            return f"{person}: erased, deleted {dropped} events"
        if message["kind"] == "consent_ended":
            dropped = self._drop(person, "consent_id", message["consent_id"])
            return f"{person}: consent {message['reason']}, deleted {dropped} events"
        if message["kind"] == "category_erased":
            dropped = self._drop(person, "category", message["category"])
            return f"{person}: {message['category']} erased, deleted {dropped} events"
        head = f"{person}: {message['event_type']} ({message['category']})"
        if secret is None:
            return f"{head} unreadable: its key is gone"
        event = {**message, "data": opened(message, secret)}
        self.events[person].append(event)
        return f"{head} {event['data']}"

    def _drop(self, person: str, field: str, value: str) -> int:
        """Delete the person's events whose ``field`` is ``value``; how many went."""
        held = self.events.pop(person, [])
        kept = [e for e in held if e[field] != value]
        if kept:
            self.events[person] = kept
        return len(held) - len(kept)


async def run(settings: dict[str, str], group: str, idle_exit: float | None) -> PartnerStore:
    store, keys = PartnerStore(), FeedKeys(settings)
    fetched: dict[str, bytes | None] = {}  # by key id
    reader = consumer(settings, group)
    await reader.start()
    print(f"reading {settings['topic']} as {settings['sasl.username']}", flush=True)
    last = time.monotonic()
    try:
        while idle_exit is None or time.monotonic() - last < idle_exit:
            batch = await reader.getmany(timeout_ms=500)
            for record in (r for part in batch.values() for r in part):
                last = time.monotonic()
                message = json.loads(record.value or b"{}")
                secret = None
                if message.get("kind") == "event":
                    key_id = message["data"]["key_id"]
                    if key_id not in fetched:
                        fetched[key_id] = await asyncio.to_thread(keys.fetch, key_id)
                    secret = fetched[key_id]
                elif message.get("kind") in {"consent_ended", "category_erased", "erased"}:
                    fetched.clear()  # their keys were deleted: the copies held here go too
                line = store.take(message, secret)
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
