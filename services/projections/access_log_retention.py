"""``python -m services.projections.access_log_retention``: remove the access log of erased
persons once its keeping period is over, in every view database of a run.

A view keeps its access-log rows of an erased person for accountability until the end of
the calendar year after the erasure (``log_retention``; docs/data-protection.md). After
that this job deletes the rows that read the case, and takes the case id out of the
caseload lists other rows recorded (the rest of those rows, about other people, stays). A
dry run (the default) lists per view the erased cases that are due and how many rows would
go; ``--apply`` removes them and marks the erasure done. ``--today`` fixes the clock.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TextIO
from uuid import UUID

import asyncpg

from services.chassis.jobs import add_job_arguments, job_today
from services.projections.access_report import (
    add_view_database_arguments,
    table_exists,
    view_databases,
)
from services.projections.log_retention import access_log_due, access_log_kept_until


@dataclass(frozen=True)
class DueLog:
    """One erased person's access log in one view, due for removal."""

    view: str
    case_id: UUID
    erased_on: date
    rows: int  # reads of the case itself
    listings: int  # caseload lists that showed its id


async def due_in_view(conn: asyncpg.Connection, view: str, today: date) -> list[DueLog]:
    """The erased cases of one view database whose access log is due on ``today``."""
    if not (
        await table_exists(conn, "public.erasures")
        and await table_exists(conn, "public.access_log")
    ):
        return []  # a view without a read API (the Agentur's first view) logs no reads
    erased = await conn.fetch(
        "SELECT case_id, erased_on FROM public.erasures WHERE access_log_removed IS NULL"
        " ORDER BY erased_on, case_id"
    )
    found = []
    for row in erased:
        if not access_log_due(row["erased_on"], today):
            continue
        counts = await conn.fetchrow(
            "SELECT count(*) FILTER (WHERE case_id = $1) AS rows,"
            " count(*) FILTER (WHERE $1 = ANY(listed)) AS listings FROM public.access_log",
            row["case_id"],
        )
        assert counts is not None  # an aggregate always answers
        found.append(
            DueLog(view, row["case_id"], row["erased_on"], counts["rows"], counts["listings"])
        )
    return found


async def remove(conn: asyncpg.Connection, due: DueLog) -> None:
    """Delete the case's reads, take its id out of the lists, and mark the erasure done."""
    async with conn.transaction():
        await conn.execute("DELETE FROM public.access_log WHERE case_id = $1", due.case_id)
        await conn.execute(
            "UPDATE public.access_log SET listed = array_remove(listed, $1) WHERE $1 = ANY(listed)",
            due.case_id,
        )
        await conn.execute(
            "UPDATE public.erasures SET access_log_removed = now() WHERE case_id = $1",
            due.case_id,
        )


async def run(dsns: Mapping[str, str], today: date, *, apply: bool, out: TextIO) -> list[DueLog]:
    """List (and with ``apply`` remove) the access logs due on ``today`` in every view."""
    found: list[DueLog] = []
    print(
        f"{'view':<22}  {'case':<36}  {'erased on':<10}  {'kept until':<10}  rows  lists", file=out
    )
    for view, dsn in sorted(dsns.items()):
        conn = await asyncpg.connect(dsn)
        try:
            due = await due_in_view(conn, view, today)
            for item in due:
                print(
                    f"{view:<22}  {item.case_id}  {item.erased_on}  "
                    f"{access_log_kept_until(item.erased_on)}  {item.rows:>4}  {item.listings:>5}",
                    file=out,
                )
                if apply:
                    await remove(conn, item)
        finally:
            await conn.close()
        found += due
    verdict = "removed" if apply else "due (dry run, nothing removed; --apply removes them)"
    print(f"{len(found)} erased persons' access logs {verdict} on {today}", file=out)
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.projections.access_log_retention",
        description="Remove the access log of erased persons from every view database once "
        "its keeping period (to the end of the year after the erasure) is over; a dry run "
        "unless --apply. See docs/data-protection.md.",
    )
    add_job_arguments(parser)
    add_view_database_arguments(parser)
    args = parser.parse_args(argv)
    dsns = view_databases(parser, args)
    asyncio.run(run(dsns, job_today(args), apply=args.apply, out=sys.stdout))
    return 0


if __name__ == "__main__":
    sys.exit(main())
