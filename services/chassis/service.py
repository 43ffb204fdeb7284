"""The write side every service shares: its pool, schema, event store and reactions, wired
once for the lifetime of the HTTP app; and the AsyncAPI document of what it publishes and
subscribes to."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, suppress
from dataclasses import dataclass
from importlib import resources
from typing import Any, Generic, TypeVar

import asyncpg
from fastapi import APIRouter, FastAPI
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from pydantic import BaseModel

from contracts.codec import TopicCodec
from contracts.envelope import EVENT_HEADERS, TRACE_HEADERS, Envelope
from services.chassis.actors import CommandIdentity, command_identity
from services.chassis.backoff import until_started
from services.chassis.eventstore import PostgresEventStore, install_schema
from services.chassis.http import service_app
from services.chassis.kafka import KafkaAccess
from services.chassis.kafka_docs import kafka_messages
from services.chassis.reactions import Reaction, dead_letter_parker, reaction_broker, subscribe
from services.chassis.relay import create_producer
from services.chassis.settings import ProcessSettings

Payload = TypeVar("Payload", bound=BaseModel)

Background = Callable[["WriteSide[Any]", asyncio.Event], Awaitable[None]]
"""A task a service runs beside its HTTP app (e.g. a periodic job) until the event is set."""


@dataclass(frozen=True)
class WriteSide(Generic[Payload]):
    """A service's own database and the store of its topic."""

    pool: asyncpg.Pool
    store: PostgresEventStore[Payload]


@dataclass(frozen=True)
class ServiceSpec(Generic[Payload]):
    """What distinguishes one service's write side from another's."""

    name: str
    package: str  # where schema.sql lives, e.g. "services.intake"
    topic: str
    codec: TopicCodec[Payload]
    description: str
    reactions: tuple[Reaction[WriteSide[Any]], ...] = ()

    def schema_sql(self) -> list[str]:
        schema = resources.files(self.package).joinpath("schema.sql")
        return [schema.read_text()] if schema.is_file() else []


def write_side_lifespan(
    spec: ServiceSpec[Payload],
    database_url: str,
    settings: ProcessSettings,
    wire: Callable[[FastAPI, WriteSide[Payload]], None],
    background: Sequence[Background] = (),
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Open the pool, install the schema, build the store, start the reactions and the
    background tasks; undo on exit."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await asyncpg.create_pool(database_url, min_size=2, max_size=10)
        stop = asyncio.Event()
        reactions: asyncio.Task[None] | None = None
        tasks: list[asyncio.Task[None]] = []
        try:
            await install_schema(pool, *spec.schema_sql())
            write_side = WriteSide(pool, PostgresEventStore(pool, spec.topic, spec.codec))
            wire(app, write_side)
            if spec.reactions and settings.reactions:
                # In the background: commands are taken while the broker is still away.
                reactions = asyncio.create_task(
                    _run_reactions(spec, settings, write_side, stop), name="reactions"
                )
            tasks = [asyncio.create_task(_awaited(task(write_side, stop))) for task in background]
            yield
        finally:
            stop.set()
            if reactions is not None:
                await reactions
            for running in tasks:
                await running
            await pool.close()

    return lifespan


async def _awaited(task: Awaitable[None]) -> None:
    await task


async def _run_reactions(
    spec: ServiceSpec[Payload],
    settings: ProcessSettings,
    write_side: WriteSide[Payload],
    stop: asyncio.Event,
) -> None:
    """Start the reactions (waiting out a broker that is not there yet) and run them until
    ``stop``. FastStream's consumers ride out a broker restart by themselves."""
    dead_letters = create_producer(settings.kafka)
    park = dead_letter_parker(dead_letters)
    running: list[KafkaBroker] = []

    async def start_broker() -> None:
        # A fresh broker per try: one whose start failed half-way is not started again.
        broker = reaction_broker(settings.kafka, description=spec.description)
        for reaction in spec.reactions:
            subscribe(broker, reaction, lambda: write_side, park, parked_in=write_side.pool)
        try:
            await broker.start()
        except BaseException:
            with suppress(Exception):
                await broker.stop()
            raise
        running.append(broker)

    what = f"{spec.name} reactions"
    try:
        if await until_started(dead_letters.start, what=what, stop=stop) and await until_started(
            start_broker, what=what, stop=stop
        ):
            await stop.wait()
    finally:
        for broker in running:
            await broker.stop()
        await dead_letters.stop()


def asyncapi_document(spec: ServiceSpec[Payload], envelope: type[Envelope[Any]]) -> str:
    """The AsyncAPI 3.0 document of the service: its topic (written by the outbox relay) and
    the topics its reactions subscribe to. Built from the same code that runs."""
    broker = reaction_broker(KafkaAccess("127.0.0.1:19092"), description=spec.description)
    broker.publisher(
        spec.topic,
        title=spec.topic,
        description=f"Events of {spec.name}, keyed by case id; published by its outbox relay.",
        schema=envelope,
    )
    for reaction in spec.reactions:
        subscribe(broker, reaction, _not_running, dead_letter_parker(None))
    document = AsyncAPI(
        broker,
        title=f"Integration Points: {spec.name}",
        version="1",
        description=spec.description,
    )
    jsonable = document.to_specification().to_jsonable()
    kafka_messages(
        jsonable,
        key={
            "type": "string",
            "format": "uuid",
            "description": "the envelope's case_id: one person's events keep their order",
        },
        headers=EVENT_HEADERS,
        optional_headers=TRACE_HEADERS,
        correlation="$message.payload#/correlation_id",
    )
    # Sorted: FastStream collects subscribers in hash order, which varies between runs.
    return json.dumps(jsonable, indent=2, ensure_ascii=False, sort_keys=True)


def _not_running() -> WriteSide[Any]:
    raise RuntimeError("the document's broker never consumes")


def service_http_app(
    spec: ServiceSpec[Payload],
    *,
    title: str,
    database_url: str,
    settings: ProcessSettings,
    router: APIRouter,
    wire: Callable[[FastAPI, WriteSide[Payload]], None],
    background: Sequence[Background] = (),
    identity: CommandIdentity | None = None,
) -> FastAPI:
    """A service's HTTP app: its write side for as long as the app runs, its command routes
    (verifying tokens with ``identity``, by default the provider the settings name),
    OpenAPI, /metrics and /health; ``background`` tasks run beside it."""
    app = service_app(
        title=title,
        description=spec.description,
        lifespan=write_side_lifespan(spec, database_url, settings, wire, background),
        router=router,
    )
    app.state.command_identity = identity or command_identity(settings)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
