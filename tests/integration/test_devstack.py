"""The local stack (deploy.local.devstack): idempotent up, isolated databases, topics, down.

Runs its own stack in a fresh temp dir on ports of its own (kafka 29192/29193, postgres 25532),
so it never touches a developer's `.local/dev` stack or the shared test stack; removed at the end.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from deploy.local import devstack
from deploy.local.devstack import (
    DEFAULT_CACHE_DIR,
    REPO_ROOT,
    StackConfig,
    StackInfo,
    TopicSpec,
    down,
    running_pids,
    status,
    up,
)

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

KAFKA_PORT = 29192
CONTROLLER_PORT = 29193
PG_PORT = 25532
TOPIC = "t.x.v1"


def _alive(pid: int) -> bool:
    """Running and not a zombie (reparented children may linger as zombies until reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] not in {"Z", "X"}


def _processes() -> Iterator[tuple[int, list[str]]]:
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if raw and _alive(int(entry.name)):
            yield int(entry.name), [p.decode(errors="replace") for p in raw.split(b"\0") if p]


def _brokers(cfg: StackConfig) -> list[int]:
    return [
        pid
        for pid, argv in _processes()
        if "kafka.Kafka" in argv and any(str(cfg.state_dir) in arg for arg in argv)
    ]


def _postmasters(cfg: StackConfig) -> list[int]:
    pgdata = str(cfg.state_dir / "postgres" / "pgdata")
    return [pid for pid, argv in _processes() if argv[0].endswith("/postgres") and pgdata in argv]


@pytest.fixture(scope="module")
def stack_cfg() -> Iterator[StackConfig]:
    # Deliberately not under tmp_path_factory: every pytest session (including a parallel one)
    # resets /tmp/pytest-of-<user> to 0700, which would lock the `embedded_postgres` system
    # user that runs the server (when we are root) out of its own data directory mid-test.
    state_dir = Path(tempfile.mkdtemp(prefix="devstack-test-"))
    cfg = StackConfig(
        state_dir=state_dir,
        cache_dir=DEFAULT_CACHE_DIR,
        kafka_port=KAFKA_PORT,
        controller_port=CONTROLLER_PORT,
        pg_port=PG_PORT,
    )
    try:
        yield cfg
    finally:
        down(cfg)
        shutil.rmtree(state_dir, ignore_errors=True)


@pytest.fixture
def stack(stack_cfg: StackConfig) -> StackInfo:
    return up(stack_cfg, databases=["alpha", "beta"], topics=[TopicSpec(TOPIC)])


def test_up_twice_starts_nothing_the_second_time(stack_cfg: StackConfig, stack: StackInfo) -> None:
    """A second `up` reports started == [] and leaves exactly one broker and one postmaster."""
    pids = running_pids(stack_cfg)
    assert set(pids) == {"kafka", "postgres"}

    again = up(stack_cfg, databases=["alpha", "beta"], topics=[TopicSpec(TOPIC)])

    assert again.started == []
    assert running_pids(stack_cfg) == pids
    assert again.database_dsns == stack.database_dsns  # passwords are kept
    assert _brokers(stack_cfg) == [pids["kafka"]]
    assert _postmasters(stack_cfg) == [pids["postgres"]]
    env_file = stack_cfg.state_dir / "stack.env"
    assert env_file.stat().st_mode & 0o777 == 0o600
    assert (stack_cfg.state_dir / "secrets.json").stat().st_mode & 0o777 == 0o600
    assert f"IP_DB_ALPHA={stack.database_dsns['alpha']}" in env_file.read_text().splitlines()
    assert again.env()["IP_KAFKA_BOOTSTRAP"] == f"127.0.0.1:{KAFKA_PORT}"


async def test_role_reaches_only_its_own_database(stack: StackInfo) -> None:
    """Role alpha connects to database alpha but is refused (28000) by database beta."""
    own = await asyncpg.connect(stack.database_dsns["alpha"])
    try:
        assert await own.fetchval("SELECT current_user || '@' || current_database()") == (
            "alpha@alpha"
        )
    finally:
        await own.close()

    alpha = urlsplit(stack.database_dsns["alpha"])
    with pytest.raises(asyncpg.InvalidAuthorizationSpecificationError):
        await asyncpg.connect(
            host="127.0.0.1",
            port=PG_PORT,
            user="alpha",
            password=alpha.password,
            database="beta",
        )


async def test_topic_from_up_has_six_partitions_and_unlimited_retention(stack: StackInfo) -> None:
    """`up(topics=[TopicSpec("t.x.v1")])` creates it with 6 partitions and retention.ms=-1."""
    admin = AIOKafkaAdminClient(**stack.kafka.client_kwargs())
    await admin.start()
    try:
        (described,) = await admin.describe_topics([TOPIC])
        responses = await admin.describe_configs(
            [
                ConfigResource(
                    ConfigResourceType.TOPIC,
                    TOPIC,
                    {"retention.ms": None, "retention.bytes": None},
                )
            ]
        )
    finally:
        await admin.close()

    assert described["error_code"] == 0
    assert len(described["partitions"]) == 6
    (resource,) = responses[0].to_object()["resources"]
    configs = {e["config_names"]: e["config_value"] for e in resource["config_entries"]}
    assert configs == {"retention.ms": "-1", "retention.bytes": "-1"}


def test_stale_kafka_pid_file_is_replaced_by_a_fresh_broker(stack_cfg: StackConfig) -> None:
    """After the broker is SIGKILLed, `status` says stopped and `up` starts exactly one new one."""
    up(stack_cfg)
    old = running_pids(stack_cfg)
    os.kill(old["kafka"], signal.SIGKILL)
    deadline = time.monotonic() + 10
    while _alive(old["kafka"]) and time.monotonic() < deadline:
        time.sleep(0.05)

    assert status(stack_cfg)["kafka"] == "stopped"
    info = up(stack_cfg)

    assert info.started == ["kafka"]
    new = running_pids(stack_cfg)
    assert new["postgres"] == old["postgres"]
    assert new["kafka"] != old["kafka"]
    assert _brokers(stack_cfg) == [new["kafka"]]


def test_down_stops_a_stack_started_by_another_process(stack_cfg: StackConfig) -> None:
    """`down` stops a broker and a daemonised postgres whose starting CLI process has exited."""
    down(stack_cfg)
    assert running_pids(stack_cfg) == {}
    ports = ["--kafka-port", str(KAFKA_PORT), "--controller-port", str(CONTROLLER_PORT)]
    dirs = ["--state-dir", str(stack_cfg.state_dir), "--cache-dir", str(stack_cfg.cache_dir)]
    cli = subprocess.run(
        [
            sys.executable,
            "-m",
            "deploy.local.devstack",
            "up",
            *dirs,
            *ports,
            "--pg-port",
            str(PG_PORT),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert cli.returncode == 0, cli.stdout + cli.stderr
    pids = running_pids(stack_cfg)
    assert set(pids) == {"kafka", "postgres"}
    assert f"kafka: ready on 127.0.0.1:{KAFKA_PORT} (pid {pids['kafka']})" in cli.stdout

    stopped = down(stack_cfg)

    assert sorted(stopped) == ["kafka", "postgres"]
    assert not any(_alive(pid) for pid in pids.values())
    assert _brokers(stack_cfg) == []
    assert _postmasters(stack_cfg) == []
    assert not (stack_cfg.state_dir / "kafka.pid").exists()
    assert not (stack_cfg.state_dir / "postgres" / "pgdata" / "postmaster.pid").exists()
    assert status(stack_cfg) == {
        "kafka": "stopped",
        "postgres": "stopped",
        "zipkin": "stopped",
        "keycloak": "stopped",
    }
    assert down(stack_cfg) == []


def test_a_failed_up_stops_what_it_started_and_only_that(
    stack_cfg: StackConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A step failing after the broker and the database came up (here: creating the topics)
    leaves nothing running that this call started; a stack that was running before stays."""

    def refuse(*_: object) -> None:
        raise RuntimeError("topic creation refused")

    down(stack_cfg)
    monkeypatch.setattr(devstack, "ensure_topics", refuse)  # where up() looks it up
    with pytest.raises(RuntimeError, match="topic creation refused"):
        up(stack_cfg, topics=[TopicSpec(TOPIC)])

    assert running_pids(stack_cfg) == {}
    assert _brokers(stack_cfg) == []
    assert _postmasters(stack_cfg) == []

    monkeypatch.undo()
    up(stack_cfg)
    before = running_pids(stack_cfg)
    monkeypatch.setattr(devstack, "ensure_topics", refuse)
    with pytest.raises(RuntimeError):
        up(stack_cfg, topics=[TopicSpec(TOPIC)])

    assert running_pids(stack_cfg) == before
    assert set(before) == {"kafka", "postgres"}
