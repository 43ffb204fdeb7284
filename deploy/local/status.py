"""``make status``: the health of the local platform at a glance, as a table.

Broker, databases, the tracing dashboard and the identity provider (its realm's discovery);
each process's health; the lag of each view (messages on its topics after its stored
positions); each service's outbox backlog.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import asyncpg
import httpx
from aiokafka import TopicPartition

from contracts.topics import DOMAIN_TOPICS
from deploy.local import devstack
from deploy.local.run import DEFAULT_PORTS, REPO, SERVICES, VIEWS
from services.chassis.kafka import KafkaAccess
from services.chassis.offsets import topic_bounds
from services.chassis.settings import ProcessSettings

Row = tuple[str, str, str]


def _env(state_dir: Path) -> dict[str, str]:
    path = state_dir / "stack.env"
    if not path.is_file():
        raise SystemExit(f"no stack in {state_dir}: start it with `make run` first")
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return dict(pairs)


async def _http(name: str, url: str) -> Row:
    try:
        async with httpx.AsyncClient(timeout=2) as client:
            answer = await client.get(url)
    except httpx.HTTPError:
        return (name, "DOWN", url)
    return (name, "ok" if answer.status_code == 200 else f"HTTP {answer.status_code}", url)


async def _outbox(name: str, dsn: str) -> Row:
    try:
        conn = await asyncpg.connect(dsn, timeout=3)
    except (OSError, asyncpg.PostgresError) as error:
        return (f"{name} outbox", "DOWN", type(error).__name__)
    try:
        row = await conn.fetchrow(
            "SELECT count(*) AS waiting, coalesce(extract(epoch FROM now() - min(created_at)), 0)"
            " AS oldest FROM outbox WHERE sent_at IS NULL"
        )
    except asyncpg.UndefinedTableError:
        return (f"{name} outbox", "ok", "no outbox yet")
    finally:
        await conn.close()
    assert row is not None
    return (f"{name} outbox", "ok", f"{row['waiting']} unsent, oldest {row['oldest']:.1f} s")


async def _lag(name: str, dsn: str, kafka: KafkaAccess) -> Row:
    try:
        conn = await asyncpg.connect(dsn, timeout=3)
        try:
            rows = await conn.fetch('SELECT topic, "partition", "offset" FROM projection_positions')
        finally:
            await conn.close()
    except (OSError, asyncpg.PostgresError) as error:
        return (f"{name} lag", "DOWN", type(error).__name__)
    stored = {TopicPartition(r["topic"], r["partition"]): r["offset"] for r in rows}
    topics = sorted({tp.topic for tp in stored} | set(DOMAIN_TOPICS))  # every view reads them
    ends = {tp: end for tp, (_, end) in (await topic_bounds(kafka, topics)).items()}
    lag = sum(max(end - stored.get(tp, -1) - 1, 0) for tp, end in ends.items())
    return (f"{name} lag", "ok" if lag < 1000 else "BEHIND", f"{lag} messages")


async def gather_rows(state_dir: Path) -> list[Row]:
    """Every row of the table."""
    cfg = devstack.StackConfig(state_dir=state_dir)
    rows: list[Row] = [
        (component, "ok" if state.startswith("running") else "DOWN", state)
        for component, state in devstack.status(cfg).items()
    ]
    env = _env(state_dir)
    # The broker as stack.env names it: its administrator, as for every operator's tool.
    kafka = ProcessSettings(_env_file=state_dir / "stack.env").kafka
    ports_file = state_dir / "ports.json"
    ports = json.loads(ports_file.read_text()) if ports_file.is_file() else DEFAULT_PORTS
    checks = [
        _http(name, f"http://127.0.0.1:{port}/{'metrics' if name.endswith('-relay') else 'health'}")
        for name, port in ports.items()
    ]
    if "IP_OIDC_ISSUER" in env:  # the provider's realm answers its discovery document
        issuer = env["IP_OIDC_ISSUER"]
        checks.append(_http("keycloak realm", f"{issuer}/.well-known/openid-configuration"))
    checks += [_outbox(s, env[f"IP_DB_{s.upper()}"]) for s in SERVICES]
    checks += [
        _lag(name, env[f"IP_DB_PROJ_{view.value.upper()}"], kafka)
        for name, view in VIEWS.items()
        if f"IP_DB_PROJ_{view.value.upper()}" in env
    ]
    rows += await asyncio.gather(*checks)
    return rows


def render(rows: Sequence[Row]) -> str:
    widths = [max(len(row[i]) for row in [("what", "state", "detail"), *rows]) for i in range(3)]
    lines = [("what", "state", "detail"), tuple("-" * w for w in widths), *rows]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)) for line in lines
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m deploy.local.status",
        description="Show the health of the local platform started by `make run`: broker, "
        "databases, Zipkin, every process, view lag and outbox backlog. Exit 1 if anything "
        "is down.",
    )
    parser.add_argument(
        "--state-dir", type=Path, default=REPO / ".local" / "dev", help="the run's state dir"
    )
    args = parser.parse_args(argv)
    rows = asyncio.run(gather_rows(args.state_dir))
    print(render(rows))  # the table is the output
    return 1 if any(state == "DOWN" for _, state, _ in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
