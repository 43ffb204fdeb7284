"""A 3-broker KRaft cluster (replication 3, min.insync.replicas=2, no unclean leader
election): the leader of a busy partition is killed with SIGKILL under load; every event a
producer had acknowledged is consumed, and producers and consumers carry on."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from uuid import uuid4

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from deploy.local import cluster
from services.chassis.kafka import KafkaAccess
from services.chassis.relay import create_producer

pytestmark = [pytest.mark.multibroker, pytest.mark.kafka]

EVENTS = 20_000  # produced in all; the leader dies after a third of them were acknowledged
PRODUCERS = 4
TOPIC = "busy"


@pytest.fixture(scope="module")
def three_brokers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[cluster.ClusterConfig]:
    """Three nodes on ports of their own (below the ephemeral range), stopped afterwards."""
    cfg = cluster.ClusterConfig(state_dir=Path(tmp_path_factory.mktemp("cluster")), base_port=26090)
    try:
        cluster.up(cfg)
        yield cfg
    finally:
        cluster.down(cfg)


async def leader_of(cfg: cluster.ClusterConfig, topic: str, partition: int) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=cfg.bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    parts = {p["partition"]: p for p in described[0]["partitions"]}
    return int(parts[partition]["leader"])


class Load:
    """Producers that number their events and keep what the cluster acknowledged."""

    def __init__(self, cfg: cluster.ClusterConfig) -> None:
        self.cfg = cfg
        self.acknowledged: set[int] = set()
        self.acknowledged_after_kill: set[int] = set()
        self.failed = 0
        self.killed = asyncio.Event()
        self.next = 0

    async def produce(self) -> None:
        producer = create_producer(
            KafkaAccess(self.cfg.bootstrap)
        )  # the platform's producer settings
        await producer.start()
        try:
            while self.next < EVENTS:
                batch = list(range(self.next, min(self.next + 50, EVENTS)))
                self.next += len(batch)
                sends = [
                    await producer.send(TOPIC, str(n).encode(), key=b"the-busy-case", partition=0)
                    for n in batch
                ]
                for n, delivery in zip(batch, sends, strict=True):
                    try:
                        await delivery
                    except KafkaError:
                        self.failed += 1  # not acknowledged: the producer may lose it
                        continue
                    self.acknowledged.add(n)
                    if self.killed.is_set():
                        self.acknowledged_after_kill.add(n)
        finally:
            await producer.stop()


async def until(condition: Callable[[], bool], within: float = 120.0) -> None:
    """Poll ``condition`` until it holds or ``within`` seconds passed."""
    for _ in range(int(within / 0.1)):
        if condition():
            return
        await asyncio.sleep(0.1)


async def consume(
    cfg: cluster.ClusterConfig, done: Callable[[], bool], seen: dict[int, int]
) -> None:
    consumer = AIOKafkaConsumer(
        TOPIC,
        bootstrap_servers=cfg.bootstrap,
        group_id=f"test.{uuid4().hex[:6]}",
        auto_offset_reset="earliest",
        enable_auto_commit=True,
    )
    await consumer.start()
    try:
        while not done():
            batches = await consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    n = int(record.value or b"-1")
                    seen[n] = seen.get(n, 0) + 1
    finally:
        await consumer.stop()


async def test_killing_the_leader_of_a_busy_partition_loses_no_acknowledged_event(
    three_brokers: cluster.ClusterConfig,
) -> None:
    """acks=all producers and a consumer group on partition 0 while its leader gets SIGKILL:
    0 acknowledged events lost, production and consumption go on after the kill."""
    cfg = three_brokers
    await cluster.create_topic(cfg, TOPIC)
    load = Load(cfg)
    seen: dict[int, int] = {}
    done = asyncio.Event()
    consuming = asyncio.create_task(consume(cfg, done.is_set, seen))
    producing = [asyncio.create_task(load.produce()) for _ in range(PRODUCERS)]
    await until(lambda: len(load.acknowledged) >= EVENTS // 3)
    leader = await leader_of(cfg, TOPIC, 0)
    killed_at = time.monotonic()
    assert await asyncio.to_thread(cluster.kill_node, cfg, leader)
    load.killed.set()
    acknowledged_at_kill = len(load.acknowledged)
    await asyncio.wait_for(asyncio.gather(*producing), timeout=180)
    new_leader = await leader_of(cfg, TOPIC, 0)
    await until(lambda: load.acknowledged <= seen.keys())
    done.set()
    await consuming
    lost = load.acknowledged - seen.keys()
    print(  # noqa: T201  # the figures, in the report of the run
        f"\nmulti-broker: {EVENTS} produced by {PRODUCERS} producers, node {leader} (leader of"
        f" {TOPIC}[0]) killed after {acknowledged_at_kill} acknowledged; new leader node"
        f" {new_leader}; acknowledged {len(load.acknowledged)} ({len(load.acknowledged_after_kill)}"
        f" after the kill), not acknowledged {load.failed}; consumed {len(seen)} distinct"
        f" ({sum(seen.values()) - len(seen)} redelivered); lost {len(lost)};"
        f" {time.monotonic() - killed_at:.0f} s from kill to all consumed"
    )

    assert lost == set()
    assert new_leader != leader
    assert len(load.acknowledged_after_kill) > EVENTS // 3  # the producers carried on
    assert load.acknowledged_after_kill <= seen.keys()  # and so did the consumer
