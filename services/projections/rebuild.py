"""``python -m services.projections.rebuild --view ID``: rebuild one view from the topics.

Fills a fresh generation of the view (any agency's, or steering) with a progress bar,
compares it with the live one, and swaps it in; the running view process moves over within a
second, and reads keep working. It logs problems only (``--log-level``), so what it prints
is the bar and its findings, not a line per event.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import asyncpg
from prometheus_client import start_http_server

from contracts.topics import DOMAIN_TOPICS
from services.chassis import generations
from services.chassis.keyclient import intake_http
from services.chassis.process import observe
from services.chassis.projection import ProjectionRunner
from services.chassis.rebuild import Difference, bar, compare, rebuild
from services.projections.agency_app import runner_factory
from services.projections.agency_settings import ViewProjectionSettings
from services.projections.history import HistoryReader
from services.projections.purpose import ViewId
from services.projections.views import parts_of

Say = Callable[[str], None]


@dataclass(frozen=True)
class Rebuilt:
    """What a rebuild made: the new generation, the one live before, and how they differ."""

    generation: str
    live: str
    differences: list[Difference]
    swapped: bool


def _say(line: str) -> None:
    print(line, flush=True)


async def rebuild_view(settings: ViewProjectionSettings, *, swap: bool, say: Say = _say) -> Rebuilt:
    """Rebuild the view of ``settings`` into a fresh generation, compare, and swap it in."""
    view, parts, dsn = (
        settings.agency_view,
        parts_of(settings.agency_view),
        settings.agency_database_url,
    )
    conn = await asyncpg.connect(dsn)
    try:
        live = await generations.active(conn)
    finally:
        await conn.close()
    say(f"rebuilding view {view.value} from {', '.join(DOMAIN_TOPICS)}")

    def progress(done: int, total: int) -> None:
        end = "\n" if done >= total else "\r"
        print(f"  {bar(done, total)}", end=end, flush=True)

    async with (
        intake_http(settings.intake_url, settings) as keys_http,
        HistoryReader(settings.kafka) as history,
    ):

        def make_runner(pool: asyncpg.Pool, group_id: str) -> ProjectionRunner:
            return runner_factory(settings, parts, keys_http, history, group_id=group_id)(pool)

        generation = await rebuild(
            view=view.value,
            dsn=dsn,
            kafka=settings.kafka,
            topics=DOMAIN_TOPICS,
            install=parts.install,
            make_runner=make_runner,
            progress=progress,
        )
    differences = await compare(dsn, live, generation, parts.tables)
    for d in differences:
        say(
            f"  {d.table}: {d.only_live} rows only in the live view, "
            f"{d.only_rebuilt} only in the rebuilt one (events since the snapshot?)"
        )
    if not differences:
        say(f"  generation {generation} equals the live generation {live}")
    if swap:
        conn = await asyncpg.connect(dsn)
        try:
            await generations.swap(conn, generation)
        finally:
            await conn.close()
        say(f"  swapped: the view now reads and projects into {generation}")
    return Rebuilt(generation, live, differences, swap)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.projections.rebuild",
        description="Rebuild one view from the topics into a fresh generation (a schema of the "
        "view's database) with a progress bar, compare it with the live one, and swap it in "
        "while reads keep working. Configured like the view process: IP_DB_VIEW (the view's "
        "database), IP_KAFKA_BOOTSTRAP, IP_INTAKE_URL, IP_KEY_READER_TOKEN (the view's own "
        "token at intake's key API).",
    )
    parser.add_argument(
        "--view",
        required=True,
        choices=[view.value for view in ViewId],
        help="which view to rebuild",
    )
    parser.add_argument(
        "--no-swap", action="store_true", help="build and compare only; keep the live generation"
    )
    parser.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        help="serve /metrics (ip_rebuild_progress_ratio) on 127.0.0.1 at this port while running",
    )
    parser.add_argument(
        "--log-level",
        default="WARNING",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="what to log on standard error beside the progress bar (default WARNING: "
        "problems only; INFO adds a line per event handled)",
    )
    args = parser.parse_args(argv)
    # The view process's settings log every event at INFO: here that would bury the bar.
    settings = ViewProjectionSettings(agency_view=ViewId(args.view), log_level=args.log_level)
    observe(f"projection.{args.view}.rebuild", settings)
    if args.metrics_port is not None:
        start_http_server(args.metrics_port, addr="127.0.0.1")
    asyncio.run(rebuild_view(settings, swap=not args.no_swap))
    return 0


if __name__ == "__main__":
    sys.exit(main())
