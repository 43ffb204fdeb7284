"""``python -m bench``: start the bench stack, run the benchmarks, print and write the report."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import shlex
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

import psutil

from bench import append, growth, streaming
from bench.core import REGISTRY, REPO, Benchmark, Context, Outcome, Sample, Sizes, say
from bench.facts import MachineShare, collect
from bench.platform import PlatformRun, infrastructure, own_cpu
from bench.platform import measure as measure_platform
from bench.report import (
    PLATFORM,
    markdown,
    platform_row,
    platform_text,
    ratio_lines,
    ratios,
    splice_platform,
    text_table,
)
from deploy.local import devstack
from services.chassis.logging import setup_logging

MODULES = (append, streaming)  # imported for their registrations
DOCS = REPO / "docs" / "benchmarks.md"
NO_DOCS = Path("/dev/null")  # --docs none


def _report_path(args: argparse.Namespace) -> Path | None:
    """Where the report goes: --docs, else the docs' file for a full run, nothing for --smoke."""
    if args.docs is None:
        return None if args.smoke else DOCS
    return None if args.docs == NO_DOCS else Path(args.docs)


def _docs_path(value: str) -> Path:
    """``--docs``: a path, or ``none`` for no report (not a file named "none")."""
    return NO_DOCS if value.strip().lower() == "none" else Path(value)


LAST = ("rebuild",)  # the slowest at full size: measured after everything else
PROFILE_LINES = 70
PROFILE_EVENTS = 100_000  # a profiled rebuild needs no more to show where the time goes

# What to profile when its target is missed: the target's benchmark of ours.
PROFILED = {
    "append ≥ 50 % of raw SQL (1 client(s), intake)": "append.intake.c1",
    "append ≥ 2x eventsourcing (1 client(s), intake)": "append.intake.c1",
    "append ≥ 50 % of raw SQL (8 client(s), intake)": "append.intake.c8",
    "rebuild ≥ 50 % of raw consume + COPY": "rebuild",
}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark the platform on a local stack of its own (Kafka + PostgreSQL "
        "on loopback): calibration (raw asyncpg / aiokafka), a peer (eventsourcing) and ours; "
        "prints a table and, for a full run, writes docs/benchmarks.md.",
    )
    p.add_argument("--smoke", action="store_true", help="one run of everything on tiny counts")
    p.add_argument("--runs", type=int, default=3, help="runs per benchmark (median reported)")
    p.add_argument(
        "--events",
        type=int,
        default=1_000_000,
        help="the big size: events for produce, consume, consume + COPY and rebuild",
    )
    p.add_argument("--commands", type=int, default=4000, help="commands per append run")
    p.add_argument(
        "--live-events", type=int, default=50_000, help="events per relay / live-projection run"
    )
    p.add_argument(
        "--growth",
        default="10000,100000,1000000",
        help="stored-event sizes for the growth series (comma-separated)",
    )
    p.add_argument(
        "--rates",
        default="100,250,500,1000,1500,2000,2500,3000",
        help="end to end: open-loop steps in commands/s (stops at the first not held)",
    )
    p.add_argument("--step-seconds", type=float, default=10.0, help="end to end: step length")
    p.add_argument(
        "--update-docs",
        action="store_true",
        help="put this run's end-to-end section into the existing report instead of "
        "rewriting it (for a run of --only platform)",
    )
    p.add_argument("--time-cap", type=float, default=60.0, help="seconds per measurement")
    p.add_argument("--only", default="", help="comma-separated names or prefixes (append,relay)")
    p.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    p.add_argument(
        "--docs",
        type=_docs_path,
        default=None,
        help=f"where to write the report (default: {DOCS.relative_to(REPO)}, none for --smoke);"
        " 'none' writes no report",
    )
    p.add_argument("--no-profile", action="store_true", help="no profile of missed targets")
    p.add_argument("--keep-stack", action="store_true", help="leave the bench stack running")
    devstack.add_stack_options(
        p,
        state_dir=REPO / ".local" / "bench",
        kafka_port=49092,
        controller_port=49093,
        pg_port=45432,
        keycloak_port=48080,
    )
    p.add_argument(
        "--port-base",
        type=int,
        default=None,
        help="first HTTP/metrics port of the platform's processes (default: 24001 for the "
        "default Kafka port; ports in use are skipped)",
    )
    return p


def select(only: str) -> tuple[list[Benchmark], bool]:
    """The benchmarks ``--only`` names, and whether the platform (end to end) runs."""
    wanted = [w.strip() for w in only.split(",") if w.strip()]
    if not wanted:
        return list(REGISTRY), True
    chosen = [b for b in REGISTRY if any(b.name == w or b.name.startswith(w + ".") for w in wanted)]
    whole = PLATFORM in wanted
    if not chosen and not whole:
        raise SystemExit(f"no benchmark matches {only!r}; see --list")
    return chosen, whole


async def measure_once(ctx: Context, outcome: Outcome, label: str) -> None:
    """One run of a benchmark into its outcome; a failure is kept and ends its runs."""
    bench = outcome.benchmark
    try:
        sample = await bench.measure(ctx)
    except Exception as error:  # noqa: BLE001  # reported in the table, the run goes on
        outcome.error = f"{type(error).__name__}: {error}"
        outcome.samples.clear()  # a benchmark that failed once shows no number
        say(f"{label}: FAILED {outcome.error}")
        return
    outcome.samples.append(sample)
    _keep(ctx, bench, sample)
    p99 = sample.percentile(0.99)
    latency = f", p99 {p99:.2f} ms" if p99 is not None else ""
    say(
        f"{label}: {sample.rate:,.0f} {bench.unit}/s "
        f"({sample.count:,} in {sample.seconds:.2f} s{latency})"
    )


def _our_cpu(cfg: devstack.StackConfig) -> float:
    """CPU seconds of this process (the platform's processes are its children), the broker
    and PostgreSQL (with its backends)."""
    processes = [psutil.Process(), *infrastructure(cfg).values()]
    return sum(own_cpu(process) for process in processes)


def _terminated(signum: int, _: object) -> None:
    say(f"received signal {signum}: stopping")
    sys.exit(128 + signum)


def _keep(ctx: Context, bench: Benchmark, sample: Sample) -> None:
    """Each run's figures also go to ``results.jsonl`` in the state dir, as they come."""
    line = {
        "at": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "name": bench.name,
        "count": sample.count,
        "seconds": sample.seconds,
        "p50_ms": sample.percentile(0.5),
        "p99_ms": sample.percentile(0.99),
    }
    with (ctx.state_dir / "results.jsonl").open("a", encoding="utf-8") as out:
        out.write(json.dumps(line) + "\n")


async def profile(ctx: Context, bench: Benchmark) -> str:
    """A wall-clock profile of one run of ``bench`` (this process only), at most
    ``PROFILE_EVENTS`` big events."""
    from pyinstrument import Profiler  # noqa: PLC0415  # only when a target is missed

    sizes = replace(ctx.sizes, events=min(ctx.sizes.events, PROFILE_EVENTS))
    smaller = replace(ctx, sizes=sizes)
    profiler = Profiler(async_mode="enabled")
    profiler.start()
    try:
        sample = await bench.measure(smaller)
    finally:
        profiler.stop()
    text: str = profiler.output_text(unicode=False, color=False)
    head = f"{sample.count:,} {bench.unit} in {sample.seconds:.2f} s while profiled"
    return "\n".join([head, *text.splitlines()[:PROFILE_LINES]])


@dataclass
class Session:
    """What a run has measured so far (an interrupted run still reports it)."""

    outcomes: list[Outcome] = field(default_factory=list)
    facts: dict[str, str] = field(default_factory=dict)
    profiles: dict[str, str] = field(default_factory=dict)
    platform_runs: list[PlatformRun] = field(default_factory=list)
    platform_error: str | None = None
    interrupted: str | None = None  # what stopped the run before its end
    whole: bool = False  # the platform was chosen
    rounds: int = 0  # rounds completed

    def short(self, runs: int) -> list[str]:
        """What has fewer runs than asked for (an interrupted run), with how many it has."""
        found = [
            f"`{o.benchmark.name}` ({len(o.samples)})"
            for o in self.outcomes
            if o.error is None and len(o.samples) < runs
        ]
        if self.whole and self.platform_error is None and len(self.platform_runs) < runs:
            found.append(f"`{PLATFORM}` ({len(self.platform_runs)})")
        return found


async def run_platform(ctx: Context, label: str, done: Session, *, profile: bool) -> None:
    """One run of the whole platform; ``profile``: it also finds where the time and the
    memory go."""
    say(f"{label}: starting the platform's processes")
    try:
        done.platform_runs.append(await measure_platform(ctx, profile=profile))
    except Exception as error:  # noqa: BLE001  # reported, the report goes on
        done.platform_error = f"{type(error).__name__}: {error}"
        done.platform_runs.clear()
        say(f"{label}: FAILED {done.platform_error}")


async def session(
    args: argparse.Namespace,
    stack: devstack.StackInfo,
    cfg: devstack.StackConfig,
    sizes: Sizes,
    *,
    chosen: list[Benchmark],
    whole: bool,
    done: Session,
) -> None:
    """Measure into ``done``: the benchmarks, the platform, and the slowest (LAST) at the end."""
    ctx = Context(
        stack=stack,
        stack_config=cfg,
        sizes=sizes,
        state_dir=args.state_dir,
        port_base=args.port_base,
    )
    done.facts.update(await collect(stack.admin_dsn))
    done.outcomes = [Outcome(b) for b in chosen]
    done.whole = whole
    # Round by round, each measuring everything once: on a machine that other work shares,
    # a figure and its calibration are then measured minutes apart, under the same load,
    # rather than an hour apart. The slowest (LAST) close each round, after the platform.
    first = [o for o in done.outcomes if o.benchmark.name not in LAST]
    last = [o for o in done.outcomes if o.benchmark.name in LAST]
    for round_ in range(1, args.runs + 1):
        done.rounds = round_ - 1
        run = f"[run {round_}/{args.runs}]"
        for number, outcome in enumerate(first, start=1):
            if outcome.error is None:
                label = f"{run} [{number}/{len(first)}] {outcome.benchmark.name}"
                await measure_once(ctx, outcome, label)
        if whole and done.platform_error is None:
            sampled = not args.no_profile and round_ == args.runs
            await run_platform(ctx, f"{run} [{PLATFORM}]", done, profile=sampled)
        for outcome in last:
            if outcome.error is None:
                await measure_once(ctx, outcome, f"{run} {outcome.benchmark.name}")
    done.rounds = args.runs
    profiles = done.profiles
    if not args.smoke and not args.no_profile:
        by_name = {b.name: b for b in REGISTRY}
        for found in ratios(done.outcomes, sizes):
            name = PROFILED.get(found.target)
            if found.met is False and name is not None and name not in profiles:
                say(f"profiling {name} (target missed: {found.target})")
                try:
                    profiles[name] = await profile(ctx, by_name[name])
                except Exception as error:  # noqa: BLE001  # the report goes on without it
                    say(f"profiling {name} failed: {error!r}")


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.smoke:
        sizes = Sizes(
            commands=40,
            live_events=200,
            events=500,
            growth=(100, 300),
            time_cap=30.0,
            rates=(20,),
            step_seconds=2.0,
            drain_seconds=60.0,  # a busy machine may stall the views' consumer groups
            idle_seconds=1.0,
        )
        args.runs = 1
    else:
        sizes = Sizes(
            commands=args.commands,
            live_events=args.live_events,
            events=args.events,
            growth=tuple(int(n) for n in args.growth.split(",") if n.strip()),
            time_cap=args.time_cap,
            rates=tuple(int(n) for n in args.rates.split(",") if n.strip()),
            step_seconds=args.step_seconds,
        )
    growth.register(sizes.growth, sizes.events)
    if args.list:
        for b in REGISTRY:
            sys.stdout.write(f"{b.name:34} {b.group:12} {b.what}\n")
        sys.stdout.write(f"{PLATFORM:34} {'ours':12} end to end, CPU per command, RSS\n")
        return 0
    chosen, whole = select(args.only)
    docs = _report_path(args)
    cfg = devstack.stack_of(args)
    args.state_dir.mkdir(parents=True, exist_ok=True)
    # A terminated run still stops the stack (and the platform) it started.
    signal.signal(signal.SIGTERM, _terminated)
    log_path = args.state_dir / "platform.log"
    with log_path.open("a", encoding="utf-8") as platform_log:
        # The platform's own logs, as its services write them (JSON lines at INFO).
        setup_logging("bench", level="INFO", json=True, stream=platform_log)
        logging.basicConfig(level=logging.WARNING, stream=platform_log, force=True)  # aiokafka
        say(f"starting the bench stack in {args.state_dir} (logs: {log_path})")
        stack = devstack.up(cfg)
        machine = MachineShare(partial(_our_cpu, cfg))
        done = Session()
        try:
            asyncio.run(session(args, stack, cfg, sizes, chosen=chosen, whole=whole, done=done))
        except (KeyboardInterrupt, SystemExit) as stopped:
            done.interrupted = f"interrupted ({type(stopped).__name__} {stopped})".strip()
            say(f"{done.interrupted}: reporting what was measured")
        finally:
            done.facts.update(machine.facts())
            if stack.started and not args.keep_stack:
                say("stopping the bench stack")
                devstack.down(cfg)
    measured = done.platform_runs or done.platform_error is not None
    extra = [platform_row(done.platform_runs, done.platform_error)] if measured else []
    if done.outcomes or extra:
        sys.stdout.write("\n" + text_table(done.outcomes, extra) + "\n\n")
        sys.stdout.write("\n".join(ratio_lines(ratios(done.outcomes, sizes))) + "\n")
    if done.platform_runs:
        sys.stdout.write("\n" + platform_text(done.platform_runs) + "\n")
    elif done.platform_error is not None:
        sys.stdout.write(f"\n{PLATFORM}: FAILED {done.platform_error}\n")
    if docs is not None:
        write_docs(docs, args, argv, sizes, done)
    if done.interrupted is not None:
        return 130
    failed = done.platform_error is not None or any(o.error is not None for o in done.outcomes)
    return 1 if failed else 0


def write_docs(
    docs: Path,
    args: argparse.Namespace,
    argv: Sequence[str] | None,
    sizes: Sizes,
    done: Session,
) -> None:
    command = ("python -m bench " + shlex.join(list(argv or sys.argv[1:]))).strip()
    if args.update_docs and docs.exists():
        if done.platform_runs:
            text = splice_platform(docs.read_text("utf-8"), done.platform_runs, sizes, command)
            docs.write_text(text, encoding="utf-8")
            say(f"updated {docs}")
        return
    notes = []
    if done.interrupted is not None:
        notes.append(
            f"this run was {done.interrupted} after {done.rounds} of {args.runs} rounds; "
            "these have fewer runs than asked for (how many they have): "
            + ", ".join(done.short(args.runs))
        )
    if done.platform_error is not None:
        notes.append(f"`{PLATFORM}` failed: {done.platform_error}")
    if sizes.events < 1_000_000:
        notes.append(f"rebuild of 1M events: this run used {sizes.events:,} events (`--events`)")
    text = markdown(
        done.outcomes,
        facts=done.facts,
        sizes=sizes,
        runs=args.runs,
        command=command,
        profiles=done.profiles,
        notes=notes,
        platform_runs=done.platform_runs,
        platform_error=done.platform_error,
    )
    docs.write_text(text, encoding="utf-8")
    say(f"wrote {docs}")
