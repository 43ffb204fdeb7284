"""A broker that is away when a consumer starts, or restarts under it: the projection
runner, the relay and the reactions wait for it instead of ending, and catch up after."""

from __future__ import annotations

import asyncio
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


async def test_a_runner_started_while_the_broker_is_down_catches_up_when_it_is_back(
    stack: StackInfo, fresh_pool: asyncpg.Pool
) -> None:
    """Started with the broker stopped, the runner keeps retrying (its task does not end);
    once the broker is back it applies every event on the topic."""
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
    await asyncio.to_thread(devstack.stop_kafka, TEST_STACK)
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
        await asyncio.to_thread(devstack.start_kafka, TEST_STACK)
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
