"""``python -m services.projections.rebuild``: rebuild the Agentur view from the topics.

Fills a fresh generation with a progress bar, compares it with the live one, and swaps it
in; the running view process moves over within a second, and reads keep working.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

import asyncpg
import httpx
from prometheus_client import start_http_server

from services.chassis import generations
from services.chassis.process import observe
from services.chassis.projection import ProjectionRunner
from services.chassis.rebuild import bar, compare, rebuild
from services.projections import agentur_mg
from services.projections.app import install, runner_factory
from services.projections.settings import AgenturViewSettings

VIEW_TABLES = ("aa_mg_cases",)


async def _run(settings: AgenturViewSettings, *, swap: bool) -> int:
    dsn = settings.view_database_url
    conn = await asyncpg.connect(dsn)
    try:
        live = await generations.active(conn)
    finally:
        await conn.close()
    print(f"rebuilding view {agentur_mg.NAME} from {', '.join(agentur_mg.TOPICS)}", flush=True)

    def progress(done: int, total: int) -> None:
        end = "\n" if done >= total else "\r"
        print(f"  {bar(done, total)}", end=end, flush=True)

    async with httpx.AsyncClient(base_url=settings.intake_url, timeout=10.0) as keys_http:

        def make_runner(pool: asyncpg.Pool, group_id: str) -> ProjectionRunner:
            return runner_factory(settings, keys_http, group_id=group_id)(pool)

        rebuilt = await rebuild(
            view=agentur_mg.NAME,
            dsn=dsn,
            kafka=settings.kafka,
            topics=agentur_mg.TOPICS,
            install=install,
            make_runner=make_runner,
            progress=progress,
        )
    differences = await compare(dsn, live, rebuilt, VIEW_TABLES)
    if differences:
        for d in differences:
            print(
                f"  {d.table}: {d.only_live} rows only in the live view, "
                f"{d.only_rebuilt} only in the rebuilt one (events since the snapshot?)"
            )
    else:
        print(f"  generation {rebuilt} equals the live generation {live}", flush=True)
    if swap:
        conn = await asyncpg.connect(dsn)
        try:
            await generations.swap(conn, rebuilt)
        finally:
            await conn.close()
        print(f"  swapped: the view now reads and projects into {rebuilt}", flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.projections.rebuild",
        description="Rebuild the view of the Agentur für Arbeit Mönchengladbach from the "
        "topics into a fresh generation (a schema of the view's database) with a progress "
        "bar, compare it with the live one, and swap it in while reads keep working. "
        "Configured like the view process (IP_DB_PROJ_AA_MG, IP_KAFKA_BOOTSTRAP, "
        "IP_INTAKE_URL, IP_KEY_READER_TOKEN).",
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
    args = parser.parse_args(argv)
    settings = AgenturViewSettings()
    observe("projection.aa_mg.rebuild", settings)
    if args.metrics_port is not None:
        start_http_server(args.metrics_port, addr="127.0.0.1")
    return asyncio.run(_run(settings, swap=not args.no_swap))


if __name__ == "__main__":
    sys.exit(main())
