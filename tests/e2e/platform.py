"""All four services, their outbox relays and their reactions, in this process on fresh
databases of the real test stack: the harness of the end-to-end scenarios."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
from fastapi import FastAPI

from contracts.topics import CODECS, DOMAIN_TOPICS
from deploy.local.demo_users import role_of
from deploy.local.devstack import StackInfo
from deploy.local.principals import relay_principal, service_principal, view_principal
from services.chassis.kafka import KafkaAccess
from services.chassis.offsets import topic_bounds
from services.chassis.relay import OutboxRelay, create_producer
from services.intake.app import create_app as intake_app
from services.intake.settings import IntakeSettings
from services.language.app import create_app as language_app
from services.language.settings import LanguageSettings
from services.placement.app import create_app as placement_app
from services.placement.settings import PlacementSettings
from services.projections.agency_app import create_app as agency_app
from services.projections.agency_settings import AgencyViewSettings
from services.projections.purpose import ViewId
from services.recognition.app import create_app as recognition_app
from services.recognition.settings import RecognitionSettings
from tests.conftest import free_port, read_topic
from tests.e2e.harness import serving
from tests.identity import verifying, view_reader
from tests.tokens import signed

SERVICES = ("intake", "language", "recognition", "placement")


class CommandRefusedError(AssertionError):
    """A scenario step the platform did not accept."""


@dataclass
class Platform:
    """HTTP clients of the four services, and what their stores and topics hold."""

    stack: StackInfo
    clients: dict[str, httpx.AsyncClient]
    dsns: dict[str, str]
    urls: dict[str, str]

    async def send(
        self,
        service: str,
        path: str,
        body: dict[str, Any],
        *,
        agency: str = "AA-MG",
        role: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """POST a command signed by a person of ``agency`` in ``role`` (its case worker by
        default). A service that has not yet heard of the case from intake's topic answers
        404 ``case.unknown`` (eventual consistency): sent again until it knows the case."""
        signer = {**signed(self.stack, agency, role or role_of(agency)), **(headers or {})}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 60.0
        while True:
            response = await self.clients[service].post(path, json=body, headers=signer)
            unknown = response.status_code == 404 and response.json().get("rule") == "case.unknown"
            if not unknown or loop.time() > deadline:
                return response
            await asyncio.sleep(0.2)

    async def command(
        self,
        service: str,
        path: str,
        body: dict[str, Any],
        *,
        agency: str = "AA-MG",
        role: str | None = None,
        expect: int = 201,
    ) -> dict[str, Any]:
        """POST a command; fail the scenario with the answer when the status is not ``expect``.

        A 403 where a 201 is expected is sent again for a few seconds: right after a
        hand-over the other services may not yet have read who is responsible now."""
        loop = asyncio.get_running_loop()
        settled = loop.time() + 15.0
        response = await self.send(service, path, body, agency=agency, role=role)
        while response.status_code == 403 and expect == 201 and loop.time() < settled:
            await asyncio.sleep(0.3)
            response = await self.send(service, path, body, agency=agency, role=role)
        if response.status_code != expect:
            raise CommandRefusedError(f"{service} {path}: {response.status_code} {response.text}")
        answer: dict[str, Any] = response.json()
        return answer

    async def stored_types(self, service: str, case_id: UUID | str) -> list[str]:
        """The event types in the service's own store for the case, in version order."""
        conn = await asyncpg.connect(self.dsns[service])
        try:
            rows = await conn.fetch(
                "SELECT type FROM events WHERE stream_id = $1 ORDER BY version", UUID(str(case_id))
            )
        finally:
            await conn.close()
        return [row["type"] for row in rows]

    async def stored_count(self, service: str) -> int:
        """How many events the service's store holds, over all cases."""
        conn = await asyncpg.connect(self.dsns[service])
        try:
            count: int = await conn.fetchval("SELECT count(*) FROM events")
        finally:
            await conn.close()
        return count

    async def stored(self, service: str, case_id: UUID | str) -> list[dict[str, Any]]:
        """The envelopes (as JSON) in the service's store for the case, in version order."""
        conn = await asyncpg.connect(self.dsns[service])
        try:
            rows = await conn.fetch(
                "SELECT body::text FROM events WHERE stream_id = $1 ORDER BY version",
                UUID(str(case_id)),
            )
        finally:
            await conn.close()
        return [json.loads(row["body"]) for row in rows]

    async def until_milestone(self, case_id: UUID | str, kind: str, label: str) -> None:
        """Wait until intake's reactions learned a milestone of the case."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 90.0
        conn = await asyncpg.connect(self.dsns["intake"])
        try:
            while loop.time() < deadline:
                if await conn.fetchval(
                    "SELECT count(*) FROM milestone_facts WHERE case_id = $1 AND kind = $2"
                    " AND label = $3",
                    UUID(str(case_id)),
                    kind,
                    label,
                ):
                    return
                await asyncio.sleep(0.2)
        finally:
            await conn.close()
        raise AssertionError(f"intake never learned {kind}={label} of {case_id}")

    async def until_stored(
        self, service: str, case_id: UUID | str, event_type: str, *, within: float = 90.0
    ) -> list[str]:
        """Wait until a reaction appended ``event_type`` to the service's store for the case."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while loop.time() < deadline:
            types = await self.stored_types(service, case_id)
            if event_type in types:
                return types
            await asyncio.sleep(0.2)
        raise AssertionError(f"{service} never stored {event_type} for {case_id}")

    async def published_types(self, topic: str, case_id: UUID | str, count: int) -> list[str]:
        """The event types the topic carries for the case (its Kafka key), once ``count`` came."""

        def mine(records: list[Any]) -> list[Any]:
            return [r for r in records if r.key == str(case_id).encode()]

        records = await read_topic(self.stack, topic, lambda rs: len(mine(rs)) >= count)
        return [CODECS[topic].parse(r.value).type for r in mine(records)]


async def fresh_database(admin_dsn: str) -> str:
    """A new empty database on the test stack's server, for one service or view."""
    name = f"t_{uuid4().hex[:16]}"
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return admin_dsn.rsplit("/", 1)[0] + "/" + name


def _apps(stack: StackInfo, dsns: dict[str, str]) -> dict[str, FastAPI]:
    def kafka(service: str) -> dict[str, Any]:
        return stack.kafka_settings(service_principal(service))

    def verified(service: str) -> dict[str, Any]:
        # Every command API verifies the test stack's Keycloak's tokens.
        return {**kafka(service), **verifying(stack)}

    return {
        "intake": intake_app(
            IntakeSettings(intake_database_url=dsns["intake"], **verified("intake"))
        ),
        "language": language_app(
            LanguageSettings(language_database_url=dsns["language"], **verified("language"))
        ),
        "recognition": recognition_app(
            RecognitionSettings(
                recognition_database_url=dsns["recognition"], **verified("recognition")
            )
        ),
        "placement": placement_app(
            PlacementSettings(placement_database_url=dsns["placement"], **verified("placement"))
        ),
    }


@asynccontextmanager
async def running_platform(stack: StackInfo) -> AsyncIterator[Platform]:
    """Serve the four services on loopback with their relays until the block ends."""
    dsns = {name: await fresh_database(stack.admin_dsn) for name in SERVICES}
    stop = asyncio.Event()
    async with AsyncExitStack() as exits:
        clients: dict[str, httpx.AsyncClient] = {}
        urls: dict[str, str] = {}
        for name, app in _apps(stack, dsns).items():
            url = urls[name] = await exits.enter_async_context(serving(app, free_port()))
            clients[name] = await exits.enter_async_context(
                httpx.AsyncClient(base_url=url, timeout=30)
            )
        relays = []
        for name in SERVICES:
            pool = await asyncpg.create_pool(dsns[name], min_size=1, max_size=2)
            exits.push_async_callback(pool.close)
            producer = create_producer(stack.kafka_as(relay_principal(name)))
            await producer.start()
            exits.push_async_callback(producer.stop)
            relays.append(asyncio.create_task(OutboxRelay(pool, producer).run(stop)))
        try:
            yield Platform(stack, clients, dsns, urls)
        finally:
            stop.set()
            await asyncio.gather(*relays)


async def until(predicate: Callable[[], Awaitable[bool]], what: str) -> None:
    """Until ``predicate`` holds (two minutes at most)."""
    for _ in range(600):
        if await predicate():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(what)


async def caught_up(kafka: KafkaAccess, dsns: Iterable[str]) -> None:
    """Until every view database stored a position at the end of every partition of the
    domain topics."""
    ends = await topic_bounds(kafka, DOMAIN_TOPICS)

    async def all_at_end() -> bool:
        for dsn in dsns:
            conn = await asyncpg.connect(dsn)
            try:
                rows = await conn.fetch(
                    'SELECT topic, "partition", "offset" FROM projection_positions'
                )
            finally:
                await conn.close()
            stored = {(r["topic"], r["partition"]): r["offset"] for r in rows}
            if any(
                end > 0 and stored.get((tp.topic, tp.partition), -1) < end - 1
                for tp, (_, end) in ends.items()
            ):
                return False
        return True

    await until(all_at_end, "a view did not catch up with the topics")


@asynccontextmanager
async def serving_view(platform: Platform, view: ViewId) -> AsyncIterator[tuple[str, str]]:
    """One agency view on a fresh database, reading the platform's topics and keys:
    its database DSN and its URL, until the block ends."""
    dsn = await fresh_database(platform.stack.admin_dsn)
    settings = AgencyViewSettings(
        agency_view=view,
        agency_database_url=dsn,
        agency_consumer_group=f"projection.{view.value}.test-{uuid4().hex[:8]}",
        **platform.stack.kafka_settings(view_principal(view)),
        intake_url=platform.urls["intake"],
        **verifying(platform.stack),
        **view_reader(platform.stack),
    )
    async with serving(agency_app(settings), free_port()) as url:
        yield dsn, url
