"""The whole platform as processes: end to end at stepped open-loop rates, CPU, RSS.

The processes are the ones ``make run`` starts (the four services with their relays, the
Agentur MG view, the agencies' views and steering), launched by ``deploy.local.run``'s own
launcher on the bench stack, with tracing off. Commands are registrations (``POST /cases``) sent
open-loop: command ``i`` of a step is due at ``start + i / rate`` whatever the earlier ones
do, and its latency runs from that intended send time until the case is visible in every
view entitled to it (found by a probe case before the steps: the views that show it). Views
are watched by polling their databases every few milliseconds.
"""

from __future__ import annotations

import asyncio
import socket
import statistics
import subprocess
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from uuid import UUID

import asyncpg
import httpx
import psutil

from bench import sampling
from bench.core import Context, say
from bench.memory import import_rss
from contracts.topics import ALL_TOPICS
from deploy.local import demo, devstack, run
from deploy.local.demo_users import DemoSigner
from deploy.local.principals import platform_principals
from services.projections.purpose import ViewId

P99_TARGET_MS = 50.0
POLL_S = 0.005
# Where a command's time goes, each from its intended send time (medians per step):
# intake answered the HTTP command (events, outbox row, key committed); the relay had the
# event acknowledged by Kafka (the outbox row's sent_at); it showed in every entitled view.
STAGES = ("answered", "published", "visible")
VIEW_QUERY = "SELECT DISTINCT case_id FROM case_events WHERE case_id = ANY($1::uuid[])"


@dataclass(frozen=True)
class Step:
    rate: int
    sent: int
    accepted: int
    visible: int
    latencies_ms: tuple[float, ...]
    cpu_ms_per_command: float | None  # platform processes + PostgreSQL + Kafka
    view_p50_ms: dict[str, float] = field(default_factory=dict)  # per entitled view
    stage_p50_ms: dict[str, float] = field(default_factory=dict)  # see STAGES
    cpu_ms_by_process: dict[str, float] = field(default_factory=dict)  # per command

    def percentile(self, share: float) -> float | None:
        if not self.latencies_ms:
            return None
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]

    @property
    def held(self) -> bool:
        p99 = self.percentile(0.99)
        return self.visible == self.sent and p99 is not None and p99 <= P99_TARGET_MS


@dataclass
class PlatformRun:
    entitled: list[str] = field(default_factory=list)
    rss_idle_mb: dict[str, float] = field(default_factory=dict)
    rss_load_mb: dict[str, float] = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    # Where the time and memory go (in the profiled run only):
    profile_rate: int | None = None  # the rate of the extra step sampled with py-spy
    profiles: dict[str, list[str]] = field(default_factory=dict)  # process -> summary
    memory_of: str | None = None  # the largest idle service, its imports' resident MB
    memory_mb: list[tuple[str, float]] = field(default_factory=list)


PROFILED = ("intake", "intake-relay", "view-aa-mg")  # with the first entitled agency view


def _bindable(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def run_config(ctx: Context) -> run.RunConfig:
    """``make run``'s processes on the bench stack, on a block of ports below the ephemeral
    range (so that no client connection holds one): from ``--port-base``, or else chosen by
    the stack's Kafka port (24xxx for the bench's default 49092); a port in use is skipped."""
    base = ctx.port_base or 20_000 + (ctx.stack_config.kafka_port // 10_000) * 1000
    wanted = {name: base + port % 1000 for name, port in run.DEFAULT_PORTS.items()}
    ports: dict[str, int] = {}
    for name, port in sorted(wanted.items(), key=lambda item: item[1]):
        candidate = max(port, max(ports.values(), default=0) + 1)
        while not _bindable(candidate):
            candidate += 1
        ports[name] = candidate
    return run.RunConfig(stack=ctx.stack_config, ports=ports)


async def _launch(cfg: run.RunConfig, process: run.Process) -> subprocess.Popen[bytes]:
    """Start one process and wait for its health; a failure is an error, not an exit."""
    try:
        child = run._start(cfg, process)
    except SystemExit as failed:
        raise RuntimeError(f"{process.name} did not start: {failed}") from None
    try:
        await asyncio.to_thread(run._wait_healthy, process, child)
    except SystemExit as failed:
        await asyncio.to_thread(run._stop_pid, cfg, process.name, child)
        raise RuntimeError(str(failed)) from None
    return child


def _mb(process: psutil.Process) -> float:
    return float(process.memory_info().rss) / 1e6


def own_cpu(process: psutil.Process) -> float:
    """User + system seconds of ``process``, its live children and its reaped ones."""
    try:
        times = process.cpu_times()
        total = times.user + times.system + times.children_user + times.children_system
        children = process.children(recursive=True)
    except psutil.Error:
        return 0.0
    for child in children:
        try:
            child_times = child.cpu_times()
        except psutil.Error:
            continue
        total += child_times.user + child_times.system
    return float(total)


def _cpu_by_process(processes: dict[str, psutil.Process]) -> dict[str, float]:
    return {name: own_cpu(process) for name, process in processes.items()}


def infrastructure(stack: devstack.StackConfig) -> dict[str, psutil.Process]:
    """PostgreSQL (its backends are its children) and Kafka of the bench stack."""
    found = {}
    for name, pid in devstack.running_pids(stack).items():
        try:
            found[name] = psutil.Process(pid)
        except psutil.Error:
            continue
    return found


class Watcher:
    """Records when each case first shows in each entitled view."""

    def __init__(self, pools: dict[str, asyncpg.Pool], queries: dict[str, str]) -> None:
        self._pools = pools
        self._queries = queries
        self.pending: dict[str, set[UUID]] = {view: set() for view in pools}
        self.seen: dict[UUID, dict[str, float]] = {}

    def expect(self, case_id: UUID) -> None:
        for view in self.pending:
            self.pending[view].add(case_id)

    async def poll(self) -> None:
        async def one(view: str) -> None:
            waiting = list(self.pending[view])
            if not waiting:
                return
            rows = await self._pools[view].fetch(self._queries[view], waiting)
            now = time.perf_counter()
            for row in rows:
                self.seen.setdefault(row["case_id"], {})[view] = now
                self.pending[view].discard(row["case_id"])

        await asyncio.gather(*(one(view) for view in self._pools))

    def visible_at(self, case_id: UUID) -> float | None:
        views = self.seen.get(case_id, {})
        return max(views.values()) if len(views) == len(self._pools) else None

    def outstanding(self) -> int:
        return sum(len(cases) for cases in self.pending.values())


@dataclass(frozen=True)
class Sent:
    """One command of a step: when it was due, when it was answered, the case it made."""

    intended: float
    answered: float
    case_id: UUID | None  # None: refused or failed


def signed_by_the_agentur(
    info: devstack.StackInfo,
) -> Callable[[httpx.Request], Awaitable[None]]:
    """A request hook signing every registration as the Agentur's demo case worker (the
    token is kept while fresh; fetching a new one blocks, so off the loop)."""
    signer = DemoSigner(run._identity(info).token_url)

    async def sign(request: httpx.Request) -> None:
        request.headers.update(await asyncio.to_thread(signer, "AA-MG"))

    return sign


async def _open_loop(
    client: httpx.AsyncClient, rate: int, seconds: float, watcher: Watcher
) -> list[Sent]:
    """Send ``rate * seconds`` registrations, each at its intended time, the watcher looking
    out for each case from its answer on."""
    count = max(1, int(rate * seconds))
    results: list[Sent] = []

    async def send(intended: float) -> None:
        try:
            response = await client.post("/cases", json=demo.EXAMPLE_REGISTRATION)
            case_id = UUID(response.json()["case_id"]) if response.is_success else None
        except (httpx.HTTPError, KeyError, ValueError):
            case_id = None
        if case_id is not None:
            watcher.expect(case_id)
        results.append(Sent(intended, time.perf_counter(), case_id))

    start = time.perf_counter() + 0.01
    tasks = []
    for index in range(count):
        intended = start + index / rate
        delay = intended - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(send(intended)))
    await asyncio.gather(*tasks)
    return results


async def _published(intake_dsn: str, accepted: Sequence[Sent]) -> dict[UUID, float]:
    """When the relay had each case's registration acknowledged by Kafka, on the
    ``perf_counter`` clock (the outbox's ``sent_at`` is PostgreSQL's wall clock)."""
    wall_minus_perf = time.time() - time.perf_counter()
    conn = await asyncpg.connect(intake_dsn)
    try:
        rows = await conn.fetch(
            "SELECT key, min(sent_at) AS sent_at FROM outbox"
            " WHERE key = ANY($1::text[]) AND sent_at IS NOT NULL GROUP BY key",
            [str(s.case_id) for s in accepted],
        )
    finally:
        await conn.close()
    return {UUID(r["key"]): r["sent_at"].timestamp() - wall_minus_perf for r in rows}


def _stages(
    accepted: Sequence[Sent], published: dict[UUID, float], watcher: Watcher
) -> dict[str, float]:
    since_intended: dict[str, list[float]] = {stage: [] for stage in STAGES}
    for sent in accepted:
        assert sent.case_id is not None
        since_intended["answered"].append(sent.answered - sent.intended)
        if sent.case_id in published:
            since_intended["published"].append(published[sent.case_id] - sent.intended)
        visible = watcher.visible_at(sent.case_id)
        if visible is not None:
            since_intended["visible"].append(visible - sent.intended)
    return {
        stage: statistics.median(values) * 1000
        for stage, values in since_intended.items()
        if values
    }


async def _step(
    ctx: Context,
    client: httpx.AsyncClient,
    watcher: Watcher,
    rate: int,
    *,
    counted: dict[str, psutil.Process],
    intake_dsn: str,
) -> Step:
    cpu_before = _cpu_by_process(counted)
    stop = asyncio.Event()

    async def watch() -> None:
        while not stop.is_set():
            await watcher.poll()
            await asyncio.sleep(POLL_S)

    watching = asyncio.create_task(watch())
    try:
        sent = await _open_loop(client, rate, ctx.sizes.step_seconds, watcher)
        deadline = time.perf_counter() + ctx.sizes.drain_seconds
        while watcher.outstanding() and time.perf_counter() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.05)  # the watcher task polls meanwhile
    finally:
        stop.set()
        await watching
    cpu_after = _cpu_by_process(counted)
    cpu_by = {name: cpu_after[name] - cpu_before[name] for name in counted}
    cpu = sum(cpu_by.values())
    accepted = [s for s in sent if s.case_id is not None]
    latencies = []
    per_view: dict[str, list[float]] = {}
    for command in accepted:
        assert command.case_id is not None
        visible = watcher.visible_at(command.case_id)
        if visible is not None:
            latencies.append((visible - command.intended) * 1000)
        for view, seen in watcher.seen.get(command.case_id, {}).items():
            per_view.setdefault(view, []).append((seen - command.intended) * 1000)
    published = await _published(intake_dsn, accepted) if accepted else {}
    return Step(
        view_p50_ms={view: statistics.median(values) for view, values in per_view.items()},
        stage_p50_ms=_stages(accepted, published, watcher),
        rate=rate,
        sent=len(sent),
        accepted=len(accepted),
        visible=len(latencies),
        latencies_ms=tuple(latencies),
        cpu_ms_per_command=cpu * 1000 / len(accepted) if accepted else None,
        cpu_ms_by_process={name: seconds * 1000 / len(accepted) for name, seconds in cpu_by.items()}
        if accepted
        else {},
    )


async def measure(ctx: Context, *, profile: bool = False) -> PlatformRun:
    """Start the platform, measure idle RSS, step the rate up until not every command shows
    within the drain time, stop it. ``profile``: then one more step, with py-spy sampling
    the processes on the command's path, and the import breakdown of the largest service."""
    cfg = run_config(ctx)
    info = await asyncio.to_thread(
        devstack.up,
        ctx.stack_config,
        run.DATABASES,
        [devstack.TopicSpec(name) for name in ALL_TOPICS],
        principals=platform_principals(),  # as make run: one principal per process
    )
    # The launcher of ``make run`` (its private helpers: there is no public one yet).
    processes = run._platform(cfg, info)
    for process in processes:
        process.env["IP_TRACE_EXPORTER"] = "none"  # as the services' default; no Zipkin here
    children = {}
    result = PlatformRun()
    try:
        for process in processes:
            children[process.name] = await _launch(cfg, process)
        say(f"platform: {len(children)} processes up; idle for {ctx.sizes.idle_seconds:.0f} s")
        await asyncio.sleep(ctx.sizes.idle_seconds)
        platform = {name: psutil.Process(child.pid) for name, child in children.items()}
        result.rss_idle_mb = {name: _mb(p) for name, p in platform.items()}
        result.entitled, watcher, pools = await _entitled_views(ctx, cfg, info)
        counted = {**platform, **infrastructure(ctx.stack_config)}
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{cfg.intake_port}",
            timeout=30.0,
            limits=limits,
            event_hooks={"request": [signed_by_the_agentur(info)]},
        ) as client:
            try:
                for rate in ctx.sizes.rates:
                    step = await _step(
                        ctx,
                        client,
                        watcher,
                        rate,
                        counted=counted,
                        intake_dsn=info.database_dsns["intake"],
                    )
                    result.steps.append(step)
                    result.rss_load_mb = {name: _mb(p) for name, p in platform.items()}
                    say(
                        f"platform: {rate}/s: {step.visible}/{step.sent} visible, "
                        f"p50 {_ms(step.percentile(0.5))}, p99 {_ms(step.percentile(0.99))}, "
                        f"CPU {_ms(step.cpu_ms_per_command)} per command"
                    )
                    if step.visible < step.sent:
                        break  # it no longer keeps up: higher steps would only queue
                if profile:
                    await _profiled_step(
                        ctx,
                        client,
                        watcher,
                        result,
                        {name: children[name].pid for name in _sampled(result.entitled)},
                    )
            finally:
                for pool in pools:
                    await pool.close()
    finally:
        for name in reversed(list(children)):
            await asyncio.to_thread(run._stop_pid, cfg, name, children[name])
    if profile:
        services = [p for p in processes if "relay" not in p.name]
        largest = max(services, key=lambda p: result.rss_idle_mb[p.name])
        result.memory_of = largest.name
        result.memory_mb = await asyncio.to_thread(import_rss, largest.module)
    return result


def _sampled(entitled: Sequence[str]) -> list[str]:
    agency = [f"view-{view.removeprefix('proj_')}" for view in entitled if view != "proj_aa_mg"]
    return [*PROFILED, *agency[:1]]


async def _profiled_step(
    ctx: Context,
    client: httpx.AsyncClient,
    watcher: Watcher,
    result: PlatformRun,
    pids: dict[str, int],
) -> None:
    """One more step at the highest rate kept up with (at most 500/s, the target's), its
    open-loop part sampled by py-spy in the processes on the command's path. Not counted in
    the steps: sampling costs them a little CPU."""
    kept = [s.rate for s in result.steps if s.visible == s.sent]
    rate = min(max(kept, default=result.steps[0].rate if result.steps else 1), 500)
    backlog_gone = time.perf_counter() + ctx.sizes.drain_seconds
    while watcher.outstanding() and time.perf_counter() < backlog_gone:
        await watcher.poll()
        await asyncio.sleep(0.05)
    say(f"platform: profiling {', '.join(pids)} at {rate}/s with py-spy")
    folder = ctx.state_dir / "profiles"
    folder.mkdir(exist_ok=True)
    samplers = {
        name: asyncio.create_task(
            sampling.record(pid, ctx.sizes.step_seconds, folder / f"{name}.txt")
        )
        for name, pid in pids.items()
    }
    await _open_loop(client, rate, ctx.sizes.step_seconds, watcher)
    result.profile_rate = rate
    for name, sampler in samplers.items():
        try:
            result.profiles[name] = sampling.summary(await sampler)
        except RuntimeError as error:
            result.profiles[name] = [f"not sampled: {error}"]


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} ms"


async def _entitled_views(
    ctx: Context, cfg: run.RunConfig, info: devstack.StackInfo
) -> tuple[list[str], Watcher, list[asyncpg.Pool]]:
    """Register a probe case; the views that show it within the drain time are entitled."""
    # Every view that shows cases (steering holds aggregates' facts, never a case_events row).
    views = [f"proj_{view.value}" for view in run.VIEWS.values() if view is not ViewId.STEERING]
    pools = {
        view: await asyncpg.create_pool(info.database_dsns[view], min_size=1, max_size=2)
        for view in views
    }
    queries = dict.fromkeys(views, VIEW_QUERY)
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{cfg.intake_port}",
        event_hooks={"request": [signed_by_the_agentur(info)]},
    ) as client:
        response = await client.post("/cases", json=demo.EXAMPLE_REGISTRATION)
        response.raise_for_status()
        probe = UUID(response.json()["case_id"])
    probing = Watcher(pools, queries)
    probing.expect(probe)
    deadline = time.perf_counter() + ctx.sizes.drain_seconds
    while probing.outstanding() and time.perf_counter() < deadline:
        await probing.poll()
        await asyncio.sleep(0.05)
    entitled = sorted(probing.seen.get(probe, {}))
    if not entitled:
        raise RuntimeError(f"no view showed the probe case within {ctx.sizes.drain_seconds} s")
    for view in views:
        if view not in entitled:
            await pools.pop(view).close()
    return entitled, Watcher(pools, {v: queries[v] for v in pools}), list(pools.values())


def median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None
