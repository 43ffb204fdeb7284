"""``python -m services.chassis.deadletters``: list, show and replay parked messages.

A parked message keeps its original bytes and headers, plus why and where from
(``dlq.reason``, ``dlq.consumer``, ``dlq.topic``, ``dlq.partition``, ``dlq.offset``).
A replay publishes a case's parked messages of one consumer back to their topic, in the
order they were parked, marked ``dlq.replayed_from``: the consumer releases the case when
the first one arrives and applies the rest behind it.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer

from contracts.topics import DEAD_LETTER_TOPIC
from services.chassis.kafka import KafkaAccess
from services.chassis.offsets import topic_bounds
from services.chassis.relay import create_producer
from services.chassis.settings import ProcessSettings


@dataclass(frozen=True)
class DeadLetter:
    """One parked message, where it sits on the dead-letter topic, and what it was."""

    partition: int
    offset: int
    key: str
    value: bytes
    headers: dict[str, str]

    @property
    def reference(self) -> str:
        return f"{self.partition}:{self.offset}"


async def parked(kafka: KafkaAccess) -> list[DeadLetter]:
    """Every message on the dead-letter topic, oldest first per partition."""
    bounds = await topic_bounds(kafka, [DEAD_LETTER_TOPIC])
    wanted = {tp: end for tp, (begin, end) in bounds.items() if end > begin}
    letters: list[DeadLetter] = []
    if not wanted:
        return letters
    consumer = AIOKafkaConsumer(**kafka.client_kwargs(), enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(list(wanted))
        await consumer.seek_to_beginning(*wanted)
        for partition, end in wanted.items():
            while await consumer.position(partition) < end:
                batch = await consumer.getmany(partition, timeout_ms=1000)
                letters.extend(
                    DeadLetter(
                        r.partition,
                        r.offset,
                        (r.key or b"").decode(errors="replace"),
                        r.value or b"",
                        {k: v.decode(errors="replace") for k, v in r.headers},
                    )
                    for r in batch.get(partition, [])
                )
    finally:
        await consumer.stop()
    return letters


async def replay(kafka: KafkaAccess, letter: DeadLetter) -> list[DeadLetter]:
    """Publish ``letter`` and every later one of the same consumer and case back to their
    topics, in parking order; returns what was replayed."""
    consumer = letter.headers.get("dlq.consumer")
    same_case = [
        other
        for other in await parked(kafka)
        if other.key == letter.key
        and other.headers.get("dlq.consumer") == consumer
        and (other.partition, other.offset) >= (letter.partition, letter.offset)
    ]
    producer = create_producer(kafka)
    await producer.start()
    try:
        for other in same_case:
            headers = {k: v for k, v in other.headers.items() if not k.startswith("dlq.")}
            headers["dlq.replayed_from"] = other.reference
            await producer.send_and_wait(
                other.headers["dlq.topic"],
                value=other.value,
                key=other.key.encode(),
                headers=[(k, v.encode()) for k, v in headers.items()],
            )
    finally:
        await producer.stop()
    return same_case


def _find(letters: Sequence[DeadLetter], reference: str) -> DeadLetter:
    found = [letter for letter in letters if letter.reference == reference]
    if not found:
        raise SystemExit(f"no parked message {reference} (see `list`)")
    return found[0]


async def _main(args: argparse.Namespace, kafka: KafkaAccess) -> int:
    letters = await parked(kafka)
    if args.command == "list":
        print(f"{'ref':<8} {'consumer':<28} {'from':<34} reason")
        for letter in letters:
            h = letter.headers
            origin = f"{h.get('dlq.topic')}[{h.get('dlq.partition')}]@{h.get('dlq.offset')}"
            print(
                f"{letter.reference:<8} {h.get('dlq.consumer', '?'):<28} {origin:<34} "
                f"{h.get('dlq.reason', '')[:80]}"
            )
        print(f"{len(letters)} parked")
    elif args.command == "show":
        letter = _find(letters, args.ref)
        for name, value in sorted(letter.headers.items()):
            print(f"{name}: {value}")
        print(f"key: {letter.key}\n\n{letter.value.decode(errors='replace')}")
    else:
        replayed = await replay(kafka, _find(letters, args.ref))
        for letter in replayed:
            print(f"replayed {letter.reference} to {letter.headers.get('dlq.topic')}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.chassis.deadletters",
        description=f"List, show and replay the messages parked on {DEAD_LETTER_TOPIC}. "
        "Configured by IP_KAFKA_BOOTSTRAP and IP_KAFKA_SASL_* (an operator's principal).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="every parked message: reference, consumer, origin, reason")
    show = sub.add_parser("show", help="one parked message with its headers and body")
    show.add_argument("ref", help="PARTITION:OFFSET on the dead-letter topic (from `list`)")
    again = sub.add_parser(
        "replay", help="publish a message and the later ones of its case and consumer again"
    )
    again.add_argument("ref", help="PARTITION:OFFSET on the dead-letter topic (from `list`)")
    args = parser.parse_args(argv)
    return asyncio.run(_main(args, ProcessSettings().kafka))


if __name__ == "__main__":
    sys.exit(main())
