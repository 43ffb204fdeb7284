"""Append rate: our event store, its exact SQL run raw, and the ``eventsourcing`` library.

The workload is the same everywhere: each client registers cases one after the other; a case
gets a first event on a new stream (expected version 0), then a second one (expected 1);
every command is one transaction of one event (with its outbox row and command key, where
the store has them). Latency is per command.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from importlib.metadata import version
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID, uuid4

import asyncpg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from pydantic import BaseModel

from bench.core import Context, Sample, benchmark, split
from bench.fixtures import SERVICES, sample_payloads
from contracts.envelope import Agency
from contracts.intake import TOPIC as INTAKE_TOPIC
from contracts.topics import CODECS
from services.chassis.eventstore import (
    OUTBOX_CHANNEL,
    CommandContext,
    PostgresEventStore,
    install_schema,
)

CLIENTS = (1, 8)

Command = Callable[[int, int], Awaitable[None]]  # (client, index) -> one command


async def drive(ctx: Context, clients: int, command: Command) -> Sample:
    """Each client sends its share of the commands one after the other; bounded in time."""
    deadline = time.perf_counter() + ctx.sizes.time_cap
    latencies: list[float] = []

    async def client(number: int, count: int) -> None:
        for index in range(count):
            if time.perf_counter() > deadline:
                return
            sent = time.perf_counter()
            await command(number, index)
            latencies.append((time.perf_counter() - sent) * 1000)

    started = time.perf_counter()
    shares = split(ctx.sizes.commands, clients)
    await asyncio.gather(*(client(n, share) for n, share in enumerate(shares)))
    return Sample(len(latencies), time.perf_counter() - started, tuple(latencies))


def _streams(clients: int, commands: int) -> list[list[UUID]]:
    """Per client, a stream id for each pair of commands."""
    return [[uuid4() for _ in range(share // 2 + 1)] for share in split(commands, clients)]


async def ours(ctx: Context, service: str, clients: int) -> Sample:
    async with ctx.database() as dsn:
        return await append_on(ctx, dsn, service, clients)


async def append_on(ctx: Context, dsn: str, service: str, clients: int) -> Sample:
    """Our append workload on the event store in ``dsn`` (installed here if need be)."""
    topic = SERVICES[service]
    payloads = sample_payloads(topic)
    pool = await asyncpg.create_pool(dsn, min_size=clients, max_size=clients)
    try:
        await install_schema(pool)
        store = PostgresEventStore[Any](pool, topic, CODECS[topic])
        streams = _streams(clients, ctx.sizes.commands)

        async def command(client: int, index: int) -> None:
            context = CommandContext(str(uuid4()), Agency.AA_MG, uuid4())
            payload = payloads[(client + index) % len(payloads)]
            await store.append(streams[client][index // 2], index % 2, [payload], context)

        return await drive(ctx, clients, command)
    finally:
        await pool.close()


def _body(stream: UUID, version: int, payload: BaseModel) -> tuple[UUID, str, str]:
    data: Any = payload
    event_id = uuid4()
    body = json.dumps(
        {
            "event_id": str(event_id),
            "case_id": str(stream),
            "stream_version": version,
            "type": data.type,
            "schema_version": data.schema_version,
            "occurred_at": "2016-02-01T09:30:00Z",
            "agency": "AA-MG",
            "correlation_id": str(uuid4()),
            "causation_id": None,
            "trace": {"traceparent": None, "tracestate": None},
            "data": payload.model_dump(mode="json"),
        }
    )
    headers = json.dumps(
        {
            "event_id": str(event_id),
            "case_id": str(stream),
            "type": data.type,
            "schema_version": str(data.schema_version),
        }
    )
    return event_id, body, headers


async def raw(ctx: Context, clients: int) -> Sample:
    """The statements of ``PostgresEventStore._append``, with bodies made beforehand."""
    payloads = sample_payloads(INTAKE_TOPIC)
    streams = _streams(clients, ctx.sizes.commands)
    prepared = [
        [
            _body(streams[c][i // 2], i % 2 + 1, payloads[(c + i) % len(payloads)])
            for i in range(share)
        ]
        for c, share in enumerate(split(ctx.sizes.commands, clients))
    ]
    async with ctx.database() as dsn:
        pool = await asyncpg.create_pool(dsn, min_size=clients, max_size=clients)
        try:
            await install_schema(pool)

            async def command(client: int, index: int) -> None:
                stream = streams[client][index // 2]
                version = index % 2 + 1
                event_id, body, headers = prepared[client][index]
                data: Any = payloads[(client + index) % len(payloads)]
                async with pool.acquire() as conn, conn.transaction():
                    await conn.fetchval(
                        "INSERT INTO handled_commands (idempotency_key, stream_id, first_version,"
                        " last_version) VALUES ($1, $2, $3, $4)"
                        " ON CONFLICT (idempotency_key) DO NOTHING RETURNING true",
                        str(event_id),
                        stream,
                        version,
                        version,
                    )
                    await conn.execute(
                        "INSERT INTO events (stream_id, version, event_id, type, schema_version,"
                        " body) SELECT $1, v, e, t, s, b::jsonb"
                        " FROM unnest($2::int[], $3::uuid[], $4::text[], $5::int[], $6::text[])"
                        " AS x(v, e, t, s, b)",
                        stream,
                        [version],
                        [event_id],
                        [data.type],
                        [data.schema_version],
                        [body],
                    )
                    await conn.execute(
                        "INSERT INTO outbox (event_id, topic, key, payload, headers)"
                        " SELECT e, $1, $2, p, h::jsonb"
                        " FROM unnest($3::uuid[], $4::bytea[], $5::text[]) AS x(e, p, h)",
                        INTAKE_TOPIC,
                        str(stream),
                        [event_id],
                        [body.encode()],
                        [headers],
                    )
                    await conn.execute("SELECT pg_notify($1, '')", OUTBOX_CHANNEL)

            return await drive(ctx, clients, command)
        finally:
            await pool.close()


class Case(Aggregate):
    """The peer's aggregate: created with a first payload, then records a second."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    @event("Recorded")
    def record(self, data: dict[str, Any]) -> None:
        self.data = data


class Cases(Application[UUID]):
    """An ``eventsourcing`` application; its recorder writes events and notifications."""


def _peer_env(dsn: str, clients: int) -> dict[str, str]:
    parts = urlsplit(dsn)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": parts.path.lstrip("/"),
        "POSTGRES_HOST": parts.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(parts.port or 5432),
        "POSTGRES_USER": parts.username or "postgres",
        "POSTGRES_PASSWORD": parts.password or "",
        "POSTGRES_POOL_SIZE": str(clients),
        "POSTGRES_MAX_OVERFLOW": "0",
    }


def _peer_run(ctx: Context, dsn: str, clients: int) -> Sample:
    payloads = [p.model_dump(mode="json") for p in sample_payloads(INTAKE_TOPIC)]
    app = Cases(env=_peer_env(dsn, clients))
    deadline = time.perf_counter() + ctx.sizes.time_cap
    latencies: list[float] = []
    lock = threading.Lock()

    def client(number: int, count: int) -> None:
        mine: list[float] = []
        case: Case | None = None
        for index in range(count):
            if time.perf_counter() > deadline:
                break
            sent = time.perf_counter()
            payload = payloads[(number + index) % len(payloads)]
            if index % 2 == 0:
                case = Case(payload)
            else:
                assert case is not None
                case.record(payload)
            app.save(case)
            mine.append((time.perf_counter() - sent) * 1000)
        with lock:
            latencies.extend(mine)

    try:
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=clients) as threads:
            shares = split(ctx.sizes.commands, clients)
            for future in [threads.submit(client, n, share) for n, share in enumerate(shares)]:
                future.result()
        return Sample(len(latencies), time.perf_counter() - started, tuple(latencies))
    finally:
        app.close()


async def peer(ctx: Context, clients: int) -> Sample:
    async with ctx.database() as dsn:
        return await asyncio.to_thread(_peer_run, ctx, dsn, clients)


def _register() -> None:
    for clients in CLIENTS:
        benchmark(
            f"append.raw.c{clients}",
            "calibration",
            f"the event store's SQL, raw asyncpg, {clients} client(s)",
            "commands",
        )(partial(raw, clients=clients))
        benchmark(
            f"append.eventsourcing.c{clients}",
            "peer",
            f"eventsourcing {version('eventsourcing')} Application.save, {clients} client(s)",
            "commands",
        )(partial(peer, clients=clients))
        for service in SERVICES:
            benchmark(
                f"append.{service}.c{clients}",
                "ours",
                f"PostgresEventStore.append, {service} events, {clients} client(s)",
                "commands",
            )(partial(ours, service=service, clients=clients))


_register()
