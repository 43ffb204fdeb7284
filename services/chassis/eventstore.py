"""The PostgreSQL event store: streams with optimistic concurrency, idempotent commands, and
the outbox written in the same transaction as the events."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Any, Generic, TypeVar
from uuid import UUID

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from opentelemetry import trace
from pydantic import BaseModel

from contracts.codec import TopicCodec
from contracts.envelope import Actor, Agency, Envelope, TraceContext
from services.chassis.ids import uuid7
from services.chassis.metrics import APPEND_SECONDS
from services.chassis.telemetry import current_trace_context

Payload = TypeVar("Payload", bound=BaseModel)

OUTBOX_CHANNEL = "outbox"
SCHEMA_LOCK = 0x1F_0B0D  # advisory lock id: "someone is installing this schema"
tracer = trace.get_tracer("services.chassis.eventstore")

# The connection holding a stream's turn (see ``exclusive``): the holder loads and appends on
# it, since its own appends must not wait for the turn it holds.
_turn: ContextVar[tuple[UUID, PoolConnectionProxy] | None] = ContextVar("turn", default=None)


def _turn_key(stream_id: UUID) -> int:
    return int.from_bytes(stream_id.bytes[:8], "big", signed=True)


class VersionConflictError(Exception):
    """Another writer appended to the stream first: reload and decide again."""

    def __init__(self, stream_id: UUID, expected_version: int) -> None:
        super().__init__(f"stream {stream_id} moved past version {expected_version}")
        self.stream_id = stream_id
        self.expected_version = expected_version


@dataclass(frozen=True)
class CommandContext:
    """What the adapter knows about a command besides its content: ``actor`` is the signed-in
    person (None for a process reacting to another event), ``request_hash`` what the
    idempotency key stands for (None: a reaction's key, derived from its event)."""

    idempotency_key: str
    agency: Agency
    correlation_id: UUID
    causation_id: UUID | None = None
    actor: Actor | None = None
    request_hash: str | None = None


class IdempotencyKeyReusedError(Exception):
    """The idempotency key was used before for another request (422)."""

    def __init__(self, idempotency_key: str) -> None:
        super().__init__(
            f"the Idempotency-Key {idempotency_key!r} was used for another request (another "
            "command, case, body or agency); use a new key for a new request"
        )


@dataclass(frozen=True)
class AppendResult:
    """The outcome of a command; ``replayed`` when its idempotency key was seen before."""

    stream_id: UUID
    first_version: int
    last_version: int
    replayed: bool


async def install_schema(pool: asyncpg.Pool, *sql_files: str) -> None:
    """Apply the chassis's event-store tables, then each named schema file (idempotent)."""
    chassis = resources.files("services.chassis")
    # parking.sql: the reactions' held cases, in the service's own database; known_cases.sql:
    # the cases a service learns from intake (intake's own stays empty: it has its streams).
    names = ("eventstore.sql", "outbox.sql", "parking.sql", "known_cases.sql")
    scripts = [chassis.joinpath(name).read_text() for name in names]
    scripts.extend(sql_files)
    async with pool.acquire() as conn, conn.transaction():
        # Processes of one service start together; the lock keeps their DDL from racing.
        await conn.execute("SELECT pg_advisory_xact_lock($1)", SCHEMA_LOCK)
        for script in scripts:
            await conn.execute(script)


class PostgresEventStore(Generic[Payload]):
    """Streams of one topic's envelopes, keyed by case id."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        topic: str,
        codec: TopicCodec[Payload],
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        new_id: Callable[[], UUID] = uuid7,
    ) -> None:
        self._pool = pool
        self._topic = topic
        self._codec = codec
        self._clock = clock
        self._new_id = new_id

    async def load(self, stream_id: UUID) -> list[Envelope[Payload]]:
        """The stream's events in version order (empty for an unknown stream)."""
        async with self._connection(stream_id) as (conn, _):
            rows = await conn.fetch(
                "SELECT body FROM events WHERE stream_id = $1 ORDER BY version", stream_id
            )
        return [self._codec.parse(row["body"]) for row in rows]

    @asynccontextmanager
    async def exclusive(self, stream_id: UUID) -> AsyncIterator[None]:
        """Take turns with the stream's other contended writers: a session advisory lock
        keyed by the stream, held on its own connection for the load-decide-append.

        While a turn is held, first tries of other writers do not append but queue up too
        (see ``_append``): otherwise a stream of fresh first tries can beat the holder again
        and again, and a queued command runs out of attempts."""
        async with self._pool.acquire() as conn:
            await conn.execute("SELECT pg_advisory_lock($1)", _turn_key(stream_id))
            token = _turn.set((stream_id, conn))
            try:
                yield
            finally:
                _turn.reset(token)
                await conn.execute("SELECT pg_advisory_unlock($1)", _turn_key(stream_id))

    @asynccontextmanager
    async def _connection(self, stream_id: UUID) -> AsyncIterator[tuple[PoolConnectionProxy, bool]]:
        """The turn's connection if this task holds the stream's turn, else a pooled one;
        and whether the turn is held."""
        turn = _turn.get()
        if turn is not None and turn[0] == stream_id:
            yield turn[1], True
            return
        async with self._pool.acquire() as conn:
            yield conn, False

    async def handled(self, context: CommandContext) -> AppendResult | None:
        """The earlier outcome of the command with this context's key, if there was one;
        ``IdempotencyKeyReusedError`` when the key was used for another request."""
        row = await self._pool.fetchrow(
            "SELECT stream_id, first_version, last_version, request_hash FROM handled_commands"
            " WHERE idempotency_key = $1",
            context.idempotency_key,
        )
        return None if row is None else _earlier(row, context)

    async def append(
        self,
        stream_id: UUID,
        expected_version: int,
        payloads: Sequence[Payload],
        context: CommandContext,
    ) -> AppendResult:
        """Append after ``expected_version``; events, outbox rows and the command key commit
        together or not at all."""
        with (
            APPEND_SECONDS.labels(self._topic).time(),
            tracer.start_as_current_span(
                f"append {self._topic}",
                attributes={
                    "ip.case_id": str(stream_id),
                    "ip.expected_version": expected_version,
                    "messaging.destination.name": self._topic,
                },
            ),
        ):
            return await self._append(stream_id, expected_version, payloads, context)

    async def _append(
        self,
        stream_id: UUID,
        expected_version: int,
        payloads: Sequence[Payload],
        context: CommandContext,
    ) -> AppendResult:
        trace_context = current_trace_context()  # the relay continues this trace
        envelopes = [
            self._stamp(stream_id, expected_version + offset, payload, context, trace_context)
            for offset, payload in enumerate(payloads, start=1)
        ]
        last_version = expected_version + len(envelopes)
        async with self._connection(stream_id) as (conn, holds_turn), conn.transaction():
            if not holds_turn and not await conn.fetchval(
                "SELECT pg_try_advisory_xact_lock_shared($1)", _turn_key(stream_id)
            ):
                # Another writer holds the stream's turn: queue up behind it.
                raise VersionConflictError(stream_id, expected_version)
            claimed = await conn.fetchval(
                "INSERT INTO handled_commands (idempotency_key, stream_id, first_version,"
                " last_version, request_hash) VALUES ($1, $2, $3, $4, $5)"
                " ON CONFLICT (idempotency_key) DO NOTHING RETURNING true",
                context.idempotency_key,
                stream_id,
                expected_version + 1,
                last_version,
                context.request_hash,
            )
            if not claimed:
                # A concurrent twin of this command committed first: report its outcome.
                earlier = await conn.fetchrow(
                    "SELECT stream_id, first_version, last_version, request_hash"
                    " FROM handled_commands WHERE idempotency_key = $1",
                    context.idempotency_key,
                )
                assert earlier is not None
                return _earlier(earlier, context)
            bodies = [envelope.model_dump_json() for envelope in envelopes]
            try:
                await conn.execute(
                    "INSERT INTO events (stream_id, version, event_id, type, schema_version, body)"
                    " SELECT $1, v, e, t, s, b::jsonb"
                    " FROM unnest($2::int[], $3::uuid[], $4::text[], $5::int[], $6::text[])"
                    " AS x(v, e, t, s, b)",
                    stream_id,
                    [e.stream_version for e in envelopes],
                    [e.event_id for e in envelopes],
                    [e.type for e in envelopes],
                    [e.schema_version for e in envelopes],
                    bodies,
                )
            except asyncpg.UniqueViolationError as conflict:
                raise VersionConflictError(stream_id, expected_version) from conflict
            await conn.execute(
                "INSERT INTO outbox (event_id, topic, key, payload, headers)"
                " SELECT e, $1, $2, p, h::jsonb FROM unnest($3::uuid[], $4::bytea[], $5::text[])"
                " AS x(e, p, h)",
                self._topic,
                str(stream_id),
                [e.event_id for e in envelopes],
                [body.encode() for body in bodies],
                [json.dumps(kafka_headers(e)) for e in envelopes],
            )
            await conn.execute("SELECT pg_notify($1, '')", OUTBOX_CHANNEL)
        return AppendResult(stream_id, expected_version + 1, last_version, False)

    def _stamp(
        self,
        stream_id: UUID,
        version: int,
        payload: Payload,
        context: CommandContext,
        trace_context: TraceContext,
    ) -> Envelope[Payload]:
        data: Any = payload
        return self._codec.adapter.validate_python(
            {
                "event_id": self._new_id(),
                "case_id": stream_id,
                "stream_version": version,
                "type": data.type,
                "schema_version": data.schema_version,
                "occurred_at": self._clock(),
                "agency": context.agency,
                "correlation_id": context.correlation_id,
                "causation_id": context.causation_id,
                "trace": trace_context,
                "actor": context.actor,
                "data": payload,
            }
        )


def _earlier(row: asyncpg.Record, context: CommandContext) -> AppendResult:
    """The outcome recorded with the key, if it was recorded for the same request. A key
    stored before requests were hashed (NULL) is taken as the same request."""
    stored = row["request_hash"]
    if stored is not None and context.request_hash is not None and stored != context.request_hash:
        raise IdempotencyKeyReusedError(context.idempotency_key)
    return AppendResult(row["stream_id"], row["first_version"], row["last_version"], True)


def kafka_headers(envelope: Envelope[Any]) -> dict[str, str]:
    """The event's Kafka headers (``EVENT_HEADERS``, ``TRACE_HEADERS``), kept in its outbox row
    for the relay."""
    headers = {
        "event_id": str(envelope.event_id),
        "case_id": str(envelope.case_id),
        "type": envelope.type,
        "schema_version": str(envelope.schema_version),
    }
    if envelope.trace.traceparent:
        headers["traceparent"] = envelope.trace.traceparent
    if envelope.trace.tracestate:
        headers["tracestate"] = envelope.trace.tracestate
    return headers
