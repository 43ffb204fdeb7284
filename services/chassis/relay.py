"""The outbox relay: publishes committed outbox rows to Kafka and marks them sent.

At-least-once: a crash between publish and mark publishes the rows again, and consumers
de-duplicate on ``event_id``. One relay per database publishes at a time (an advisory
lock), so per-case order on the topic follows the order of the stream's versions.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import time
from collections.abc import Sequence
from contextlib import suppress
from typing import Any

import asyncpg
import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from opentelemetry import propagate, trace
from prometheus_client import start_http_server

from services.chassis.backoff import until_started
from services.chassis.eventstore import OUTBOX_CHANNEL, install_schema
from services.chassis.kafka import KafkaAccess
from services.chassis.metrics import OUTBOX_BACKLOG, OUTBOX_OLDEST_AGE, PUBLISHED
from services.chassis.process import observe
from services.chassis.settings import RelaySettings

log = structlog.get_logger("relay")
tracer = trace.get_tracer("services.chassis.relay")

BACKLOG_INTERVAL = 2.0  # seconds between backlog measurements
LEADER_LOCK = 0x1F_0B0C  # advisory lock id: "the outbox relay of this database"


def create_producer(kafka: KafkaAccess) -> AIOKafkaProducer:
    """A producer that never loses an acknowledged event nor writes one twice per session."""
    return AIOKafkaProducer(
        **kafka.client_kwargs(),
        acks="all",
        enable_idempotence=True,
        linger_ms=2,
        max_batch_size=256 * 1024,
        request_timeout_ms=30_000,
    )


class OutboxRelay:
    """Moves outbox rows of one service database onto Kafka."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        producer: AIOKafkaProducer,
        *,
        batch_size: int = 1000,
        name: str = "relay",
    ) -> None:
        self.name = name
        self._pool = pool
        self._producer = producer
        self._batch_size = batch_size
        self._wake = asyncio.Event()

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def publish_pending(self) -> int:
        """Publish one batch of unsent rows in position order; returns how many were sent."""
        rows = await self._pool.fetch(
            "SELECT position, topic, key, payload, headers FROM outbox"
            " WHERE sent_at IS NULL ORDER BY position LIMIT $1",
            self._batch_size,
        )
        if not rows:
            return 0
        deliveries = [await self._send(row) for row in rows]
        await asyncio.gather(*deliveries)  # pipelined: one wait for the whole batch
        await self._pool.execute(
            "UPDATE outbox SET sent_at = now() WHERE position = ANY($1::bigint[])",
            [row["position"] for row in rows],
        )
        PUBLISHED.labels(self.name).inc(len(rows))
        return len(rows)

    async def measure_backlog(self) -> None:
        """Set the backlog gauges: how many rows wait, and how long the oldest has waited."""
        row = await self._pool.fetchrow(
            "SELECT count(*) AS waiting,"
            " coalesce(extract(epoch FROM now() - min(created_at)), 0) AS oldest"
            " FROM outbox WHERE sent_at IS NULL"
        )
        assert row is not None
        OUTBOX_BACKLOG.labels(self.name).set(row["waiting"])
        OUTBOX_OLDEST_AGE.labels(self.name).set(float(row["oldest"]))

    async def _send(self, row: asyncpg.Record) -> asyncio.Future[Any]:
        headers: dict[str, str] = json.loads(row["headers"])
        parent = propagate.extract(headers)
        with tracer.start_as_current_span(
            f"publish {row['topic']}",
            context=parent,
            kind=trace.SpanKind.PRODUCER,
            attributes={
                "messaging.system": "kafka",
                "messaging.destination.name": row["topic"],
                "ip.case_id": row["key"],
                "ip.event_id": headers.get("event_id", ""),
                "ip.event_type": headers.get("type", ""),
            },
        ):
            propagate.inject(headers)
            delivery: asyncio.Future[Any] = await self._producer.send(
                row["topic"],
                value=bytes(row["payload"]),
                key=row["key"].encode(),
                headers=[(name, value.encode()) for name, value in headers.items()],
            )
        return delivery

    async def run(self, stop: asyncio.Event, *, idle_poll: float = 1.0) -> None:
        """Publish until ``stop`` is set; wakes on NOTIFY and polls as a fallback."""
        async with self._pool.acquire() as listener:
            while not await listener.fetchval("SELECT pg_try_advisory_lock($1)", LEADER_LOCK):
                log.info("relay.waiting_for_leadership")
                with suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=2.0)
                if stop.is_set():
                    return
            await listener.add_listener(OUTBOX_CHANNEL, self._on_notify)
            try:
                await self._loop(stop, idle_poll)
            finally:
                await listener.remove_listener(OUTBOX_CHANNEL, self._on_notify)
                await listener.execute("SELECT pg_advisory_unlock($1)", LEADER_LOCK)

    async def _loop(self, stop: asyncio.Event, idle_poll: float) -> None:
        failures = 0
        measured = 0.0
        while not stop.is_set():
            self._wake.clear()
            try:
                sent = await self.publish_pending()
                if time.monotonic() - measured > BACKLOG_INTERVAL:
                    await self.measure_backlog()
                    measured = time.monotonic()
                failures = 0
            except (OSError, asyncpg.PostgresError, KafkaError) as error:
                # Rows stay unsent and are published on a later pass: nothing is lost.
                failures += 1
                log.warning("relay.publish_failed", error=repr(error), failures=failures)
                with suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=min(0.1 * 2**failures, 5.0))
                continue
            if sent:
                log.debug("relay.published", count=sent)
                continue
            waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
            await asyncio.wait(waiters, timeout=idle_poll, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()

    def _on_notify(self, *_: object) -> None:
        self._wake.set()


async def _serve(settings: RelaySettings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    pool = await asyncpg.create_pool(settings.relay_database_url, min_size=1, max_size=2)
    await install_schema(pool)  # the relay may start before its service created the outbox
    producer = create_producer(settings.kafka)
    try:
        if settings.relay_metrics_port is not None:
            start_http_server(settings.relay_metrics_port, addr="127.0.0.1")
        # The broker may be restarting: wait for it rather than exit with rows to publish.
        if not await until_started(producer.start, what=settings.relay_name, stop=stop):
            return
        log.info("relay.started", relay=settings.relay_name)
        await OutboxRelay(pool, producer, name=settings.relay_name).run(stop)
    finally:
        await producer.stop()
        await pool.close()


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m services.chassis.relay``: drain one service's outbox onto Kafka."""
    parser = argparse.ArgumentParser(
        prog="python -m services.chassis.relay",
        description="Publish a service's outbox to Kafka (at-least-once, per-case order). "
        "Configured by IP_RELAY_DATABASE_URL, IP_RELAY_NAME and IP_KAFKA_* (its principal).",
    )
    parser.parse_args(argv)
    settings = RelaySettings()
    observe(settings.relay_name, settings)
    asyncio.run(_serve(settings))


if __name__ == "__main__":
    main()
