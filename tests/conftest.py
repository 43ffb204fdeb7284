"""Shared fixtures: the real test stack (Kafka, PostgreSQL and Keycloak on their own loopback
ports), fresh databases per test, real access tokens of the realm's demo users, and one
in-memory span exporter for the whole session."""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from uuid import uuid4

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.structs import ConsumerRecord
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from contracts.topics import ALL_TOPICS
from deploy.local import devstack
from deploy.local.identity_provider import Provider
from deploy.local.principals import platform_principals
from services.chassis.telemetry import setup_tracing
from tests.identity import Tokens, provider_of, tokens_of_provider

REPO = Path(__file__).resolve().parents[1]
STACK_DATABASES = ("intake", "language", "recognition", "placement", "proj_aa_mg")

TEST_STACK = devstack.StackConfig(
    state_dir=Path(os.environ.get("IP_TEST_STATE_DIR", REPO / ".local" / "test")),
    cache_dir=REPO / ".local" / "cache",
    kafka_port=int(os.environ.get("IP_TEST_KAFKA_PORT", "29092")),
    controller_port=int(os.environ.get("IP_TEST_CONTROLLER_PORT", "29093")),
    pg_port=int(os.environ.get("IP_TEST_PG_PORT", "25432")),
    zipkin_port=int(os.environ.get("IP_TEST_ZIPKIN_PORT", "29411")),
    keycloak_port=int(os.environ.get("IP_TEST_KEYCLOAK_PORT", "28080")),
)

SPANS = InMemorySpanExporter()
setup_tracing("tests", extra_processors=(SimpleSpanProcessor(SPANS),))


@pytest.fixture(scope="session")
def stack() -> Iterator[devstack.StackInfo]:
    """The test stack, started once for the session; stopped at the end if this run started it."""
    info = devstack.up(
        TEST_STACK,
        databases=STACK_DATABASES,
        topics=[devstack.TopicSpec(name) for name in ALL_TOPICS],
        principals=platform_principals(),
    )
    yield info
    if info.started:
        devstack.down(TEST_STACK)


@pytest.fixture(scope="session")
def identity(stack: devstack.StackInfo) -> Provider:
    """The test stack's Keycloak: its issuer, token endpoint and service clients' secrets
    (``identity.verifier_settings()``, ``identity.client_settings("ip-view-reader")``)."""
    return provider_of(stack)


@pytest.fixture(scope="session")
def token_for(identity: Provider) -> Tokens:
    """``token_for("anna.aa", purpose="placement")``: a demo user's access token (cached
    while fresh); ``token_for.bearer(...)`` its Authorization header."""
    return tokens_of_provider(identity)


@pytest.fixture
def spans() -> InMemorySpanExporter:
    """The session's finished spans, emptied before the test."""
    SPANS.clear()
    return SPANS


def _with_database(dsn: str, database: str) -> str:
    return dsn.rsplit("/", 1)[0] + "/" + database


@pytest.fixture
async def fresh_dsn(stack: devstack.StackInfo) -> AsyncIterator[str]:
    """A new empty database for one test, dropped afterwards."""
    name = f"t_{uuid4().hex[:16]}"
    admin = await asyncpg.connect(stack.admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield _with_database(stack.admin_dsn, name)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def fresh_pool(fresh_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on a fresh database."""
    pool = await asyncpg.create_pool(fresh_dsn, min_size=1, max_size=20)
    try:
        yield pool
    finally:
        await pool.close()


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def create_topic(stack: devstack.StackInfo, name: str, partitions: int = 6) -> str:
    """A throwaway topic on the test broker (created by the administrator)."""
    admin = AIOKafkaAdminClient(**stack.kafka.client_kwargs())
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, partitions, 1)])
    finally:
        await admin.close()
    return name


async def read_topic(
    stack: devstack.StackInfo,
    topic: str,
    enough: Callable[[list[ConsumerRecord[bytes, bytes]]], bool],
) -> list[ConsumerRecord[bytes, bytes]]:
    """The records of ``topic`` from the beginning, read until ``enough`` (or 30 s); read
    as the administrator, the test's observer."""
    consumer = AIOKafkaConsumer(topic, **stack.kafka.client_kwargs(), auto_offset_reset="earliest")
    await consumer.start()
    records: list[ConsumerRecord[bytes, bytes]] = []
    try:
        for _ in range(150):
            batch = await consumer.getmany(timeout_ms=200)
            records += [record for part in batch.values() for record in part]
            if enough(records):
                break
    finally:
        await consumer.stop()
    return records


async def fetch(dsn: str, sql: str, *args: object) -> list[asyncpg.Record]:
    """The rows of one query on a database of the test stack (a connection of its own)."""
    conn = await asyncpg.connect(dsn)
    try:
        rows: list[asyncpg.Record] = await conn.fetch(sql, *args)
    finally:
        await conn.close()
    return rows
