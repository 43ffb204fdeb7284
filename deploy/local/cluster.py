"""A 3-broker Kafka cluster on loopback, for the multi-broker tests.

Three KRaft nodes, each broker and controller (a quorum of three voters), from the same
Maven Central jars as the dev stack. Topics are replicated three times, a write needs two
in-sync replicas (``min.insync.replicas=2``) and an out-of-sync replica never becomes
leader (``unclean.leader.election.enable=false``): with ``acks=all`` an acknowledged event
survives the loss of any one node.

    <state>/node-<id>/server.properties, data/, kafka.log, kafka.pid

``python -m deploy.local.cluster {up,down} --help``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from deploy.local import devstack

HOST = devstack.HOST
READY_WITHIN = 120.0  # seconds; three JVMs on a busy machine


@dataclass(frozen=True)
class ClusterConfig:
    """Where the cluster keeps its state; node ``n`` (1-3) listens on ``base_port + n`` and
    its controller on ``base_port + 10 + n`` (keep them below 32768, outside the ephemeral
    range, so that a restarted node finds its port free)."""

    state_dir: Path
    base_port: int = 25090
    cache_dir: Path = devstack.DEFAULT_CACHE_DIR
    nodes: int = 3

    @property
    def ids(self) -> range:
        return range(1, self.nodes + 1)

    def broker_port(self, node: int) -> int:
        return self.base_port + node

    def controller_port(self, node: int) -> int:
        return self.base_port + 10 + node

    @property
    def bootstrap(self) -> str:
        return ",".join(f"{HOST}:{self.broker_port(node)}" for node in self.ids)

    def node_dir(self, node: int) -> Path:
        return Path(self.state_dir).resolve() / f"node-{node}"


def _properties(cfg: ClusterConfig, node: int) -> str:
    voters = ",".join(f"{n}@{HOST}:{cfg.controller_port(n)}" for n in cfg.ids)
    broker, controller = cfg.broker_port(node), cfg.controller_port(node)
    settings = {
        "process.roles": "broker,controller",
        "node.id": str(node),
        "controller.quorum.voters": voters,
        "listeners": f"PLAINTEXT://{HOST}:{broker},CONTROLLER://{HOST}:{controller}",
        "advertised.listeners": f"PLAINTEXT://{HOST}:{broker}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(cfg.node_dir(node) / "data"),
        "num.partitions": "3",
        "default.replication.factor": str(cfg.nodes),
        "min.insync.replicas": "2",
        "unclean.leader.election.enable": "false",
        "offsets.topic.replication.factor": str(cfg.nodes),
        "transaction.state.log.replication.factor": str(cfg.nodes),
        "transaction.state.log.min.isr": "2",
        "share.coordinator.state.topic.replication.factor": str(cfg.nodes),
        "share.coordinator.state.topic.min.isr": "2",
        "group.initial.rebalance.delay.ms": "0",
        "auto.create.topics.enable": "false",
    }
    lines = ["# Written by deploy/local/cluster.py"]
    return "\n".join([*lines, *(f"{key}={value}" for key, value in settings.items())]) + "\n"


def _pid_file(cfg: ClusterConfig, node: int) -> Path:
    return cfg.node_dir(node) / "kafka.pid"


def node_pid(cfg: ClusterConfig, node: int) -> int | None:
    """The PID of node ``node``'s JVM while it runs (it names its own properties file)."""
    try:
        pid = int(_pid_file(cfg, node).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    marker = str(cfg.node_dir(node) / "server.properties")
    return pid if devstack._is_ours(pid, marker) else None  # the stack's own check


def start_node(cfg: ClusterConfig, node: int, libs: Path) -> subprocess.Popen[bytes]:
    """Start one node (its storage formatted already)."""
    home = cfg.node_dir(node)
    with (home / "kafka.log").open("ab") as log:
        child = subprocess.Popen(
            devstack.kafka_command(
                libs, "kafka.Kafka", str(home / "server.properties"), heap="512m"
            ),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=home,
            start_new_session=True,
        )
    _pid_file(cfg, node).write_text(f"{child.pid}\n")
    return child


def up(cfg: ClusterConfig) -> dict[int, subprocess.Popen[bytes]]:
    """Format (once) and start the three nodes; return when the cluster has all brokers."""
    libs = devstack.fetch_kafka(
        devstack.StackConfig(state_dir=cfg.state_dir, cache_dir=cfg.cache_dir)
    )
    cluster_id_file = Path(cfg.state_dir).resolve() / "cluster.id"
    if not cluster_id_file.exists():
        cluster_id_file.parent.mkdir(parents=True, exist_ok=True)
        cluster_id_file.write_text(devstack.new_kafka_cluster_id() + "\n")
    cluster_id = cluster_id_file.read_text().strip()
    children: dict[int, subprocess.Popen[bytes]] = {}
    for node in cfg.ids:
        home = cfg.node_dir(node)
        home.mkdir(parents=True, exist_ok=True)
        (home / "server.properties").write_text(_properties(cfg, node))
        if not (home / "data" / "meta.properties").exists():
            devstack.format_kafka_storage(libs, home / "server.properties", cluster_id)
        if node_pid(cfg, node) is None:
            children[node] = start_node(cfg, node, libs)
    asyncio.run(wait_ready(cfg, cfg.nodes))
    return children


async def wait_ready(cfg: ClusterConfig, brokers: int, within: float = READY_WITHIN) -> None:
    """Until the cluster's metadata lists ``brokers`` brokers."""
    deadline = time.monotonic() + within
    last: Exception | None = None
    while time.monotonic() < deadline:
        admin = AIOKafkaAdminClient(bootstrap_servers=cfg.bootstrap, request_timeout_ms=10_000)
        try:
            await admin.start()
            cluster = await admin.describe_cluster()
            if len(cluster["brokers"]) >= brokers:
                return
        except Exception as error:  # noqa: BLE001  # brokers answer in many ways while booting
            last = error
        finally:
            await admin.close()
        await asyncio.sleep(1.0)
    raise devstack.DevStackError(f"cluster: not {brokers} brokers within {within:.0f} s ({last!r})")


async def create_topic(cfg: ClusterConfig, name: str, partitions: int = 3) -> None:
    """A topic with a replica on every node, two of them needed for a write."""
    admin = AIOKafkaAdminClient(bootstrap_servers=cfg.bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [
                NewTopic(
                    name,
                    partitions,
                    cfg.nodes,
                    topic_configs={
                        "min.insync.replicas": "2",
                        "unclean.leader.election.enable": "false",
                    },
                )
            ]
        )
    finally:
        await admin.close()


def kill_node(cfg: ClusterConfig, node: int) -> bool:
    """SIGKILL one node, as in a crash; True if it ran."""
    pid = node_pid(cfg, node)
    if pid is None:
        return False
    os.kill(pid, signal.SIGKILL)
    devstack._wait_gone(pid, 10)  # the stack's own wait
    return True


def down(cfg: ClusterConfig) -> list[int]:
    """Stop every node that runs (SIGTERM, SIGKILL after 30 s); the nodes stopped."""
    stopped = []
    for node in cfg.ids:
        pid = node_pid(cfg, node)
        if pid is None:
            continue
        os.kill(pid, signal.SIGTERM)
        if not devstack._wait_gone(pid, 30):
            os.kill(pid, signal.SIGKILL)
            devstack._wait_gone(pid, 10)
        stopped.append(node)
    return stopped


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m deploy.local.cluster",
        description="A 3-broker KRaft cluster on loopback (replication 3, min.insync.replicas=2,"
        " no unclean leader election).",
    )
    parser.add_argument("command", choices=["up", "down"])
    parser.add_argument("--state-dir", type=Path, default=devstack.REPO_ROOT / ".local" / "cluster")
    parser.add_argument("--base-port", type=int, default=25090, help="node n: base+n, base+10+n")
    args = parser.parse_args(argv)
    cfg = ClusterConfig(state_dir=args.state_dir, base_port=args.base_port)
    if args.command == "up":
        up(cfg)
        print(f"cluster up: {cfg.bootstrap}", flush=True)
    else:
        print(f"stopped nodes: {down(cfg) or 'none'}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
