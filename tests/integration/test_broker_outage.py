"""A broker that is away when a consumer starts, or restarts under it: the projection
runner, the relay and the reactions wait for it instead of ending, and catch up after."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from uuid import uuid4

import asyncpg
import pytest
from structlog.testing import capture_logs

from deploy.local import devstack
from deploy.local.devstack import StackInfo
from services.chassis.projection import ProjectionRunner, install_projection_schema
from tests.conftest import TEST_STACK, create_topic
from tests.integration.test_projection_runner import SEEN_SQL, Recorder, produce

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

# A broker of its own: this test stops and starts it, and a shared broker that came back
# slowly once (CI, a loaded machine) failed every Kafka test after this one. Ports beside the
# test stack's, below the ephemeral range so the restarted broker finds its port free.
OWN_STACK = dataclasses.replace(
    TEST_STACK,
    state_dir=TEST_STACK.state_dir / "broker-outage",
    kafka_port=TEST_STACK.kafka_port + 300,
    controller_port=TEST_STACK.controller_port + 300,
    pg_port=TEST_STACK.pg_port + 300,
    zipkin_port=None,
    keycloak_port=None,  # no one signs in here: the test stack's provider keeps its port
    keycloak_management_port=None,
)


@pytest.fixture(scope="module")
def own_stack() -> Iterator[StackInfo]:
    info = devstack.up(OWN_STACK)
    try:
        yield info
    finally:
        devstack.down(OWN_STACK)


async def test_a_runner_started_while_the_broker_is_down_catches_up_when_it_is_back(
    own_stack: StackInfo, fresh_pool: asyncpg.Pool
) -> None:
    """Started with the broker stopped, the runner keeps retrying (its task does not end);
    once the broker is back it applies every event on the topic."""
    stack = own_stack
    topic = await create_topic(stack, f"test.outage.{uuid4().hex[:8]}", partitions=2)
    await install_projection_schema(fresh_pool, SEEN_SQL)
    ids = [str(uuid4()) for _ in range(20)]
    await produce(stack, topic, [(event_id, f"e{n}".encode()) for n, event_id in enumerate(ids)])
    runner = ProjectionRunner(
        name="outage",
        pool=fresh_pool,
        kafka=stack.kafka,
        topics=[topic],
        group_id=f"test.{uuid4().hex[:8]}",
        handler=Recorder(),
    )
    stop = asyncio.Event()
    await asyncio.to_thread(devstack.stop_kafka, OWN_STACK)
    try:
        with capture_logs() as logs:
            task = asyncio.create_task(runner.run(stop))
            for _ in range(600):
                if any(entry["event"] == "kafka.start_retrying" for entry in logs):
                    break
                await asyncio.sleep(0.05)
            retried_while_down = not task.done() and any(
                entry["event"] == "kafka.start_retrying" for entry in logs
            )
    finally:
        await asyncio.to_thread(devstack.start_kafka, OWN_STACK)
    try:
        for _ in range(600):
            if await fresh_pool.fetchval("SELECT count(*) FROM seen") >= len(ids) or task.done():
                break
            await asyncio.sleep(0.2)
        still_running = not task.done()
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=60)

    assert retried_while_down, "the runner should wait for the broker, not end"
    assert still_running
    seen = await fresh_pool.fetch("SELECT event_id::text FROM seen")
    assert sorted(r["event_id"] for r in seen) == sorted(ids)
