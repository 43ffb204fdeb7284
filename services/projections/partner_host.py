"""The partner feeds: one per registered partner, started when ``partners add`` registers it
and stopped (its schema dropped) when ``partners revoke`` marks it revoked. Each consumes
the domain topics in its own consumer group and schema (positions, facts, outbox), and
publishes its outbox to the partner's topic. Run by ``services.projections.partner_app``.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress
from dataclasses import dataclass
from importlib import resources
from typing import Any, Final
from uuid import UUID

import asyncpg
import structlog
from aiokafka.errors import KafkaError

from contracts.envelope import Envelope
from contracts.topics import DOMAIN_TOPICS
from services.chassis import generations
from services.chassis.keyclient import IntakeKeyClient
from services.chassis.offsets import topic_bounds
from services.chassis.projection import ProjectionRunner, install_projection_schema
from services.chassis.relay import OutboxRelay, create_producer
from services.projections.history import case_history
from services.projections.partner_feed import PartnerFeed
from services.projections.partner_settings import PartnerFeedSettings
from services.projections.partners import Registered, registered

log = structlog.get_logger("partner_host")

FEED_GROUP_PREFIX: Final = "partners-feed."  # one consumer group per partner and generation
PUBLISH_IDLE = 0.3  # seconds between looks at an empty outbox


@dataclass
class _Running:
    registered: Registered
    pool: asyncpg.Pool
    stop: asyncio.Event
    tasks: tuple[asyncio.Task[None], ...]


class FeedHost:
    """Keeps one running feed per active partner in the registry."""

    def __init__(self, settings: PartnerFeedSettings, keys: IntakeKeyClient) -> None:
        self._settings = settings
        self._keys = keys
        self._running: dict[str, _Running] = {}

    @property
    def feeds(self) -> set[str]:
        """The partners whose feed runs now."""
        return set(self._running)

    async def run(self, stop: asyncio.Event) -> None:
        """Follow the registry until ``stop`` is set; then stop every feed."""
        try:
            while not stop.is_set():
                await self.sync()
                with suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self._settings.partners_poll)
        finally:
            for name in list(self._running):
                await self._stop(name, drop=False)

    async def sync(self) -> None:
        """Start the feeds of new (or renewed) partners; stop those of revoked ones."""
        conn = await asyncpg.connect(self._settings.partners_database_url)
        try:
            partners = {r.name: r for r in await registered(conn)}
        finally:
            await conn.close()
        for name, running in list(self._running.items()):
            now = partners.get(name)
            if now is None or now.revoked_at is not None or now.schema != running.registered.schema:
                await self._stop(name, drop=True)
        for name, reg in partners.items():
            if reg.revoked_at is None and name not in self._running:
                await self._start(reg)

    async def _start(self, reg: Registered) -> None:
        dsn = self._settings.partners_database_url
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {generations.checked(reg.schema)}")
        finally:
            await conn.close()
        pool = await generations.open_pool(dsn, reg.schema, min_size=1, max_size=4)
        sql = resources.files("services.projections").joinpath("partner_feed.sql").read_text()
        await install_projection_schema(pool, sql)
        kafka = self._settings.kafka
        runner = ProjectionRunner(
            name=f"partner.{reg.name}",
            pool=pool,
            kafka=kafka,
            topics=DOMAIN_TOPICS,
            group_id=f"{FEED_GROUP_PREFIX}{reg.schema}",
            max_batch=self._settings.partners_max_batch,
            handler=PartnerFeed(reg.subscription, reg.pseudonym_key, self._keys, self._case_now),
        )
        relay = OutboxRelay(pool, create_producer(kafka), name=f"partner.{reg.name}")
        stop = asyncio.Event()
        tasks = (
            asyncio.create_task(runner.run(stop)),
            asyncio.create_task(_publish(relay, stop)),
        )
        self._running[reg.name] = _Running(reg, pool, stop, tasks)
        log.info("partner_feed.started", partner=reg.name, schema=reg.schema)

    async def _stop(self, name: str, *, drop: bool) -> None:
        running = self._running.pop(name)
        running.stop.set()
        await asyncio.gather(*running.tasks, return_exceptions=True)
        await running.pool.close()
        if drop:  # revoked or renewed: what the old feed kept has no further use
            conn = await asyncpg.connect(self._settings.partners_database_url)
            try:
                schema = generations.checked(running.registered.schema)
                await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            finally:
                await conn.close()
        log.info("partner_feed.stopped", partner=name, dropped=drop)

    async def _case_now(self, case_id: UUID) -> list[Envelope[Any]]:
        kafka = self._settings.kafka
        ends = {tp: end for tp, (_, end) in (await topic_bounds(kafka, DOMAIN_TOPICS)).items()}
        partitions = self._settings.topic_partitions
        return await case_history(kafka, case_id, DOMAIN_TOPICS, partitions, ends)


async def _publish(relay: OutboxRelay, stop: asyncio.Event) -> None:
    """Publish the feed's outbox until ``stop``; an outage only delays (rows stay unsent)."""
    await relay.start()
    try:
        while not stop.is_set():
            try:
                sent = await relay.publish_pending()
            except (OSError, KafkaError, asyncpg.PostgresError) as error:
                log.warning("partner_feed.publish_failed", error=repr(error))
                sent = 0
            if not sent:
                with suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=PUBLISH_IDLE)
    finally:
        await relay.stop()
