"""``python -m deploy.local.chaos``: the crash suite (``make chaos`` runs it at full size)."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence

from deploy.local import devstack, run
from deploy.local.chaos.driver import CrashRun, Figures, Plan, run_config
from services.chassis.logging import setup_logging


def report(plan: Plan, figures: Figures) -> str:
    """The figures of a run, as ``docs/reliability.md`` quotes them."""
    kills = ", ".join(f"{count} {kind}s" for kind, count in sorted(figures.kills.items()))
    catch_up = (
        f"{figures.catch_up_seconds:.0f} s" if figures.catch_up_seconds is not None else "never"
    )
    equal = sum(v.equal for v in figures.views)
    lines = [
        "",
        "crash suite figures",
        f"  events in the stores     {figures.events} (asked for {plan.events})",
        f"  load                     {figures.load_seconds:.0f} s",
        f"  SIGKILLs                 {sum(figures.kills.values())} ({kills or 'none'})",
        f"  broker restarts          {figures.broker_restarts} (SIGKILL, then start)",
        f"  ended by themselves      {len(figures.unexpected_exits)}"
        + (f" ({', '.join(figures.unexpected_exits)})" if figures.unexpected_exits else ""),
        f"  time to catch up         {catch_up}",
        f"  lost                     {figures.lost} (acknowledged commands"
        f" {figures.lost_commands}, on topics {figures.lost_on_topics}, in views"
        f" {sum(v.lost for v in figures.views)})",
        f"  duplicated               {figures.duplicated} (effects recorded twice in a store;"
        " a view claims each event id once, a second application shows in its checksum)",
        f"  published again          {figures.republished} (relay at-least-once; ignored)",
        f"  parked (dead letters)    {figures.parked}",
        f"  views equal to the fold  {equal} of {len(figures.views)}",
        f"  verdict                  {verdict(figures)}",
    ]
    return "\n".join(lines)


def verdict(figures: Figures) -> str:
    if not figures.safe:
        return "FAILED: lost, duplicated or not caught up"
    return "PASSED" if figures.views_equal else "SAFE, BUT VIEWS DIFFER FROM THE FOLD"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m deploy.local.chaos",
        description="The crash suite: start a stack and every process of `make run` on "
        "loopback, drive realistic cases over HTTP while SIGKILLing random services, relays "
        "and views (by PID, only processes it started) and restarting the broker; then wait "
        "for catch-up and compare every view with the fold of the event stores. Exits 1 on "
        "a lost or duplicated event or no catch-up in time, 2 when nothing was lost or "
        "duplicated but a view differs from the fold, 0 when all views equal it.",
    )
    parser.add_argument("--events", type=int, default=3000, help="events to reach in the stores")
    parser.add_argument("--kills", type=int, default=10, help="SIGKILLs of platform processes")
    parser.add_argument("--broker-restarts", type=int, default=1, help="broker SIGKILL+start")
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=600,
        help="the whole run's bound: load stops at 60%%, catch-up must end by 85%%",
    )
    parser.add_argument("--desks", type=int, default=6, help="concurrent case workers")
    parser.add_argument("--seed", type=int, default=8, help="random seed of load and kills")
    # Below Linux's ephemeral range (32768-60999): a restarted broker finds its port free,
    # not taken by some client's outgoing connection.
    devstack.add_stack_options(
        parser,
        state_dir=run.REPO / ".local" / "chaos",
        kafka_port=24092,
        controller_port=24093,
        pg_port=24432,
        keycloak_port=24080,
    )
    args = parser.parse_args(argv)
    plan = Plan(
        events=args.events,
        kills=args.kills,
        broker_restarts=args.broker_restarts,
        max_seconds=args.max_seconds,
        desks=args.desks,
        seed=args.seed,
    )
    cfg = run_config(devstack.stack_of(args))
    setup_logging("chaos", level="WARNING", json=False)  # the fold's handlers log per event
    # Stopped by a signal, the run still stops what it started (its ``finally`` blocks):
    # SIGTERM, and SIGINT also where a background start left it ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    figures = asyncio.run(CrashRun(plan, cfg)())
    print(report(plan, figures), flush=True)
    if not figures.safe:
        return 1
    return 0 if figures.views_equal else 2


if __name__ == "__main__":
    sys.exit(main())
