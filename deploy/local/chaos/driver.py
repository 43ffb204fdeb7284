"""One crash run: the platform of ``make run`` under load, SIGKILLs and broker restarts,
then catch-up and the verdict of ``fold``."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field, replace

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient

from contracts.topics import ALL_TOPICS, DOMAIN_TOPICS
from deploy.local import devstack, run
from deploy.local.chaos import fold
from deploy.local.chaos.scenarios import SCENARIOS, Desk, Tally
from deploy.local.demo_users import DemoSigner
from deploy.local.principals import platform_principals
from services.asyncapi import SERVICES as SERVICE_SPECS
from services.chassis import deadletters, generations
from services.chassis.kafka import KafkaAccess
from services.chassis.offsets import topic_bounds
from services.chassis.oidc import OidcClientSettings

# Quieter processes: the run's own figures are the output; traces would only cost CPU.
PROCESS_ENV = {"IP_TRACE_EXPORTER": "none", "IP_LOG_LEVEL": "WARNING"}
REFERENCE_DB = "chaos_fold"


@dataclass(frozen=True)
class Plan:
    """How big a run is, and how long it may take at most."""

    events: int
    kills: int
    broker_restarts: int
    max_seconds: float
    desks: int = 6
    seed: int = 8


@dataclass
class Figures:
    """What a run did and found."""

    events: int = 0
    kills: dict[str, int] = field(default_factory=dict)  # kind -> SIGKILLs
    broker_restarts: int = 0
    unexpected_exits: list[str] = field(default_factory=list)
    load_seconds: float = 0.0
    catch_up_seconds: float | None = None
    lost_commands: int = 0
    lost_on_topics: int = 0
    republished: int = 0
    parked: int = 0
    applied_twice_in_stores: int = 0
    views: list[fold.ViewVerdict] = field(default_factory=list)

    @property
    def lost(self) -> int:
        return self.lost_commands + self.lost_on_topics + sum(v.lost for v in self.views)

    @property
    def duplicated(self) -> int:
        return self.applied_twice_in_stores

    @property
    def safe(self) -> bool:
        """Caught up, nothing lost, nothing applied twice, nothing in a view no store holds."""
        return (
            self.catch_up_seconds is not None
            and self.lost == 0
            and self.duplicated == 0
            and all(v.unexpected == 0 for v in self.views)
        )

    @property
    def views_equal(self) -> bool:
        return bool(self.views) and all(v.equal for v in self.views)


def say(started: float, message: str) -> None:
    print(f"[{time.monotonic() - started:6.0f}s] {message}", flush=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def kind_of(name: str) -> str:
    if name.endswith("-relay"):
        return "relay"
    return "view" if name.startswith("view") else "service"


class Supervisor:
    """The platform's processes, started with ``run``'s definitions and helpers; killed and
    restarted by the PID of the child it started, never by name."""

    def __init__(self, cfg: run.RunConfig, processes: list[run.Process]) -> None:
        self._cfg = cfg
        self._processes = {process.name: process for process in processes}
        self.children: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def names(self) -> list[str]:
        return list(self._processes)

    @property
    def victims(self) -> list[str]:
        """What the suite kills: services, relays and views (not the web pages, which hold
        nothing and feed nothing)."""
        return [name for name in self._processes if name != "web"]

    def start_all(self) -> None:
        """Start every process, then wait until each answers (they wait for each other)."""
        for name, process in self._processes.items():
            self.children[name] = run._start(self._cfg, process)
        for name, process in self._processes.items():
            run._wait_healthy(process, self.children[name], within=300)

    def kill(self, name: str) -> None:
        """SIGKILL, as in a crash, and start it again at once, as a supervisor would."""
        child = self.children[name]
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
        self.children[name] = run._start(self._cfg, self._processes[name])

    def restart_exited(self) -> list[str]:
        """Start again what ended by itself (nothing should); the names."""
        ended = [name for name, child in self.children.items() if child.poll() is not None]
        for name in ended:
            self.children[name] = run._start(self._cfg, self._processes[name])
        return ended

    def stop_all(self) -> None:
        for name in reversed(list(self.children)):
            run._stop_pid(self._cfg, name, self.children[name])


def _platform(cfg: run.RunConfig, info: devstack.StackInfo) -> list[run.Process]:
    return [
        replace(process, env={**process.env, **PROCESS_ENV}) for process in run._platform(cfg, info)
    ]


def _view_specs(info: devstack.StackInfo) -> list[fold.ViewSpec]:
    # The fold fetches keys as the views do: with the views' client's own token.
    reader = OidcClientSettings.model_validate(
        run._identity(info).client_settings("ip-view-reader")
    )
    return [
        fold.ViewSpec(view, info.database_dsns[f"proj_{view.value}"], reader)
        for view in run.VIEWS.values()
    ]


class Counter:
    """The events in the four stores, read now and then (the load's measure of progress)."""

    def __init__(self, dsns: dict[str, str]) -> None:
        self._dsns = dsns
        self.events = 0

    async def count(self) -> int:
        total = 0
        for dsn in self._dsns.values():
            conn = await asyncpg.connect(dsn)
            try:
                total += int(await conn.fetchval("SELECT count(*) FROM events"))
            finally:
                await conn.close()
        self.events = total
        return total


async def _reaction_groups_behind(kafka: KafkaAccess) -> int:
    groups = {r.name: r.topic for spec, _ in SERVICE_SPECS.values() for r in spec.reactions}
    bounds = await topic_bounds(kafka, sorted(set(groups.values())))
    admin = AIOKafkaAdminClient(**kafka.client_kwargs())
    await admin.start()
    behind = 0
    try:
        for group, topic in groups.items():
            committed = await admin.list_consumer_group_offsets(group)
            for tp, (_, end) in bounds.items():
                if tp.topic == topic:
                    at = committed[tp].offset if tp in committed else 0
                    behind += max(end - at, 0)
    finally:
        await admin.close()
    return behind


async def _views_behind(kafka: KafkaAccess, views: list[fold.ViewSpec]) -> int:
    bounds = await topic_bounds(kafka, list(DOMAIN_TOPICS))
    behind = 0
    for spec in views:
        conn = await asyncpg.connect(spec.dsn)
        try:
            generation = await generations.active(conn)
            rows = await conn.fetch(
                f'SELECT topic, "partition", "offset" FROM {generation}.projection_positions'  # noqa: S608  # our name
            )
        finally:
            await conn.close()
        stored = {(r["topic"], r["partition"]): r["offset"] for r in rows}
        for tp, (_, end) in bounds.items():
            if tp.topic in spec.topics:
                behind += max(end - 1 - stored.get((tp.topic, tp.partition), -1), 0)
    return behind


async def _outbox_backlog(dsns: dict[str, str]) -> int:
    backlog = 0
    for dsn in dsns.values():
        conn = await asyncpg.connect(dsn)
        try:
            backlog += int(await conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL"))
        finally:
            await conn.close()
    return backlog


async def caught_up(
    kafka: KafkaAccess, services: dict[str, str], views: list[fold.ViewSpec]
) -> str:
    """'' when reactions, relays and views have all reached the end; else what is behind.
    Checked in causal order, then the topics' ends again: a reaction may have written more."""
    ends = await topic_bounds(kafka, list(DOMAIN_TOPICS))
    if behind := await _reaction_groups_behind(kafka):
        return f"reactions {behind} behind"
    if backlog := await _outbox_backlog(services):
        return f"outboxes {backlog} unsent"
    if behind := await _views_behind(kafka, views):
        return f"views {behind} behind"
    if ends != await topic_bounds(kafka, list(DOMAIN_TOPICS)):
        return "topics still growing"
    return ""


async def _parked(kafka: KafkaAccess) -> dict[str, int]:
    """The parked messages by consumer and (the start of) their reason."""
    kinds: dict[str, int] = {}
    for letter in await deadletters.parked(kafka):
        reason = letter.headers.get("dlq.reason", "")
        reason = "behind parked" if reason.startswith("behind parked") else reason[:120]
        kind = f"{letter.headers.get('dlq.consumer')}: {reason}"
        kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


class CrashRun:
    """One run: the stack and processes it started, what it sent, and what it found."""

    def __init__(self, plan: Plan, cfg: run.RunConfig) -> None:
        self.plan = plan
        self.cfg = cfg
        self.figures = Figures()
        self.started = time.monotonic()
        self.rng = random.Random(plan.seed)  # noqa: S311  # a reproducible run, not a secret
        self.tally = Tally()
        self._stopped = asyncio.Event()

    def say(self, message: str) -> None:
        say(self.started, message)

    async def __call__(self) -> Figures:
        """Run the platform under load and crashes, wait for catch-up, and judge it."""
        cfg = self.cfg
        run.stop_everything(cfg)  # what an earlier, interrupted run of this state dir left
        shutil.rmtree(cfg.state, ignore_errors=True)
        self.say(f"stack in {cfg.state}")
        info = await asyncio.to_thread(
            devstack.up,
            cfg.stack,
            databases=[*run.DATABASES, REFERENCE_DB],
            topics=[devstack.TopicSpec(name) for name in ALL_TOPICS],
            principals=platform_principals(),
        )
        self.info = info
        self.services = {name: info.database_dsns[name] for name in run.SERVICES}
        self.views = _view_specs(info)
        self.supervisor = Supervisor(cfg, _platform(cfg, info))
        try:
            self.say(f"starting {len(self.supervisor.names)} processes")
            await asyncio.to_thread(self.supervisor.start_all)
            await self._drive()
            self.say("load and crashes done; waiting for the platform to catch up")
            self.figures.catch_up_seconds = await self._catch_up()
            if self.figures.catch_up_seconds is not None:
                await self._judge()
        finally:
            self.say("stopping")
            await asyncio.to_thread(self.supervisor.stop_all)
            await asyncio.to_thread(devstack.down, cfg.stack)
        return self.figures

    def _progress(self) -> float:
        """How far the load is: by events, or by time when time runs out first (so that
        every kill and restart happens while the load runs)."""
        by_time = (time.monotonic() - self._load_started) / (self._load_until - self._load_started)
        return max(self.counter.events / self.plan.events, by_time)

    def _load_done(self) -> bool:
        figures, plan = self.figures, self.plan
        crashes_done = (
            sum(figures.kills.values()) >= plan.kills
            and figures.broker_restarts >= plan.broker_restarts
        )
        return time.monotonic() > self._load_until or (self._progress() >= 1 and crashes_done)

    async def _drive(self) -> None:
        self.counter = Counter(self.services)
        self._load_started = time.monotonic()
        self._load_until = self.started + self.plan.max_seconds * 0.6
        urls = {name: f"http://127.0.0.1:{self.cfg.ports[name]}" for name in run.SERVICES}
        stores = {
            name: await asyncpg.create_pool(dsn, min_size=1, max_size=4)
            for name, dsn in self.services.items()
        }
        desk = Desk(urls, stores, self.tally, DemoSigner(run._identity(self.info).token_url))
        load_started = time.monotonic()
        side = [asyncio.create_task(self._report()), asyncio.create_task(self._crash())]
        try:
            await asyncio.gather(
                *(self._desk(desk, self.rng.randrange(2**32)) for _ in range(self.plan.desks))
            )
        finally:
            self.figures.load_seconds = time.monotonic() - load_started
            self._stopped.set()
            await asyncio.gather(*side)
            await desk.close()
            for pool in stores.values():
                await pool.close()
        tally = self.tally
        self.figures.lost_commands = await fold.missing_acknowledged(
            self.services, tally.acknowledged
        )
        self.say(
            f"load: {tally.cases} cases, {tally.commands} commands acknowledged, {tally.refused}"
            f" refused, {tally.resent} sent again, {tally.given_up} given up"
        )
        for what, count in sorted(tally.refusals.items(), key=lambda item: -item[1])[:8]:
            self.say(f"  refused {count}x: {what}")

    async def _desk(self, desk: Desk, seed: int) -> None:
        """A case worker: one realistic case after the other until the load is done."""
        rng = random.Random(seed)  # noqa: S311  # a reproducible load, not a secret
        while not self._load_done():
            await rng.choice(SCENARIOS)(desk, rng)

    async def _report(self) -> None:
        while not self._stopped.is_set():
            with contextlib.suppress(OSError, asyncpg.PostgresError):
                await self.counter.count()
            figures, plan, tally = self.figures, self.plan, self.tally
            self.say(
                f"events {self.counter.events}/{plan.events}, commands {tally.commands}"
                f" ({tally.refused} refused, {tally.resent} resent), kills"
                f" {sum(figures.kills.values())}/{plan.kills}, broker restarts"
                f" {figures.broker_restarts}/{plan.broker_restarts}"
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopped.wait(), timeout=5.0)

    async def _crash(self) -> None:
        """Kills and broker restarts spread over the load: the i-th of n once the load is
        i/(n+1) done."""
        figures, plan, supervisor = self.figures, self.plan, self.supervisor
        while not self._stopped.is_set():
            done = self._progress()
            kills = sum(figures.kills.values())
            restarts = figures.broker_restarts
            if restarts < plan.broker_restarts and done >= (restarts + 1) / (
                plan.broker_restarts + 1
            ):
                self.say(f"broker restart {restarts + 1}: SIGKILL, then start")
                await asyncio.to_thread(devstack.stop_kafka, self.cfg.stack, kill=True)
                await self._start_broker()
                figures.broker_restarts += 1
            elif kills < plan.kills and done >= (kills + 1) / (plan.kills + 1):
                name = self.rng.choice(supervisor.victims)
                await asyncio.to_thread(supervisor.kill, name)
                figures.kills[kind_of(name)] = figures.kills.get(kind_of(name), 0) + 1
            for name in supervisor.restart_exited():
                figures.unexpected_exits.append(name)
                self.say(f"{name} ended by itself; started again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopped.wait(), timeout=0.5)

    async def _start_broker(self) -> None:
        """Start the broker again; a failed start (its port briefly taken, say) is retried."""
        for attempt in range(1, 6):
            try:
                await asyncio.to_thread(devstack.start_kafka, self.cfg.stack)
            except devstack.DevStackError as error:
                self.say(f"broker start {attempt} failed, again in 5 s: {str(error)[:200]}")
                await asyncio.sleep(5)
            else:
                return
        raise devstack.DevStackError("the broker did not start again after 5 attempts")

    async def _catch_up(self) -> float | None:
        """Seconds until everything reached the end (None: not within the run's time)."""
        begin = time.monotonic()
        deadline = self.started + self.plan.max_seconds * 0.85
        last = ""
        while time.monotonic() < deadline:
            for name in self.supervisor.restart_exited():
                self.figures.unexpected_exits.append(name)
            try:
                behind = await caught_up(self.info.kafka, self.services, self.views)
            except (OSError, asyncpg.PostgresError) as error:
                behind = repr(error)
            if not behind:
                return time.monotonic() - begin
            if behind != last:
                self.say(f"catching up: {behind}")
                last = behind
            await asyncio.sleep(1.0)
        self.say(f"did not catch up within the run's time: {last}")
        return None

    async def _judge(self) -> None:
        figures, kafka = self.figures, self.info.kafka
        events = await fold.stored_events(self.services)
        figures.events = len(events)
        figures.applied_twice_in_stores = fold.applied_twice_in_stores(events)
        figures.lost_on_topics, figures.republished = await fold.missing_on_topics(kafka, events)
        parked = await _parked(kafka)
        figures.parked = sum(parked.values())
        for kind, count in sorted(parked.items(), key=lambda item: -item[1]):
            self.say(f"parked {count}x {kind}")
        reference = self.info.database_dsns[REFERENCE_DB]
        intake_url = f"http://127.0.0.1:{self.cfg.ports['intake']}"
        for spec in self.views:
            schema = await fold.fold_into(reference, spec, events, intake_url)
            verdict = await fold.compare(spec, reference, schema)
            figures.views.append(verdict)
            tables = ", ".join(f"{t} {live}" for t, (live, _) in verdict.checksums.items())
            self.say(
                f"view {spec.view.value}: {'equal' if verdict.equal else 'DIFFERENT'} to the"
                f" fold ({tables}); lost {verdict.lost}"
            )
            for table, (view_only, fold_only) in verdict.differing.items():
                self.say(
                    f"  {table}: {view_only} rows only in the view, {fold_only} only in the fold"
                )
            for sample in verdict.samples:
                self.say(f"  {sample[:300]}")


def run_config(stack: devstack.StackConfig) -> run.RunConfig:
    """A run of its own: its stack (state dir, broker and database ports), free HTTP ports."""
    return run.RunConfig(stack=stack, ports={name: _free_port() for name in run.DEFAULT_PORTS})
