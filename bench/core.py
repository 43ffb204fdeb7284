"""What every benchmark shares: its context, its samples, the registry, medians."""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from uuid import uuid4

import asyncpg

from deploy.local import devstack
from services.chassis.kafka import KafkaAccess

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Sizes:
    """How much work each benchmark does in one run."""

    commands: int  # commands per append run (split over the clients)
    live_events: int  # events through the relay and the live projection per run
    events: int  # the big size: produce, consume, consume + COPY, rebuild
    growth: tuple[int, ...]  # events stored before the growth measurements
    time_cap: float  # seconds one measurement may take before it is called failed
    rates: tuple[int, ...] = ()  # end to end: the open-loop steps, commands per second
    step_seconds: float = 10.0  # how long each step sends
    drain_seconds: float = 10.0  # how long a step's last commands may take to show
    idle_seconds: float = 5.0  # the platform idles this long before its RSS is taken


@dataclass
class Context:
    """The stack a run works on, its sizes, and a log file for the platform's own logs."""

    stack: devstack.StackInfo
    stack_config: devstack.StackConfig
    sizes: Sizes
    state_dir: Path
    fixtures: dict[str, object] = field(default_factory=dict)
    port_base: int | None = None  # the platform's HTTP and metrics ports start here

    @property
    def kafka(self) -> KafkaAccess:
        """The broker as its administrator: the benchmarks create and read their own topics."""
        return self.stack.kafka

    @asynccontextmanager
    async def database(self) -> AsyncIterator[str]:
        """A fresh database for one run, dropped afterwards; yields its DSN."""
        name = f"b_{uuid4().hex[:16]}"
        admin = await asyncpg.connect(self.stack.admin_dsn)
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
            try:
                yield self.stack.admin_dsn.rsplit("/", 1)[0] + "/" + name
            finally:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


@dataclass(frozen=True)
class Sample:
    """One run's outcome: a rate (per second) and, where measured, latencies in ms."""

    count: int
    seconds: float
    latencies_ms: tuple[float, ...] = ()

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else 0.0

    def percentile(self, share: float) -> float | None:
        if not self.latencies_ms:
            return None
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


Measure = Callable[[Context], Awaitable[Sample]]


@dataclass(frozen=True)
class Benchmark:
    name: str
    group: str  # calibration, peer or ours
    what: str
    unit: str  # what is counted per second
    measure: Measure


@dataclass
class Outcome:
    """All runs of one benchmark, and the medians the report shows."""

    benchmark: Benchmark
    samples: list[Sample] = field(default_factory=list)
    error: str | None = None

    @property
    def rate(self) -> float | None:
        return statistics.median(s.rate for s in self.samples) if self.samples else None

    def latency(self, share: float) -> float | None:
        values = [v for s in self.samples if (v := s.percentile(share)) is not None]
        return statistics.median(values) if values else None

    @property
    def count(self) -> int | None:
        return self.samples[0].count if self.samples else None


REGISTRY: list[Benchmark] = []


def benchmark(name: str, group: str, what: str, unit: str) -> Callable[[Measure], Measure]:
    """Register a measurement under ``name`` (the order of registration is the table's)."""

    def register(measure: Measure) -> Measure:
        REGISTRY.append(Benchmark(name, group, what, unit, measure))
        return measure

    return register


def say(message: str) -> None:
    """Progress output: one line on standard error, at once."""
    sys.stderr.write(f"bench: {message}\n")
    sys.stderr.flush()


class Stopwatch:
    """Monotonic seconds since creation (or the last ``restart``)."""

    def __init__(self) -> None:
        self.started = time.perf_counter()

    def restart(self) -> None:
        self.started = time.perf_counter()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.started


async def until(
    condition: Callable[[], Awaitable[bool]], *, within: float, every: float = 0.02
) -> None:
    """Wait until ``condition`` holds, polling (the runner's counters have no event to wait
    on); TimeoutError after ``within`` seconds."""
    async with asyncio.timeout(within):
        while not await condition():  # noqa: ASYNC110
            await asyncio.sleep(every)


def split(total: int, parts: int) -> Sequence[int]:
    """``total`` spread over ``parts`` as evenly as integers allow."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]
