"""``python -m services.intake.retention``: what of the cases ran out of retention, and its erasure.

By default a dry run: it lists each expiry (case id, controller, category, rule, last day
kept, what goes: the person or one data category, legal source; never a personal field) and
changes nothing. With ``--apply``, on behalf of the case's responsible agency:

- a case whose every case-file period ran out is erased through the same path as
  ``POST /cases/{id}/erasure``: ``intake.person_erased`` whose reason names the job and the
  rule, then the person's keys are deleted;
- a category whose own period ran out while the case file is still needed (an open case, a
  Jobcenter's longer period) is erased alone: ``intake.category_erased`` with the category,
  the rule and its legal source; every view and partner feed drops that category's data.

The job opens no sealed field: it needs no key. ``--today`` fixes its clock (tests, catch-up).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence
from datetime import date
from importlib import resources
from pathlib import Path
from typing import TextIO
from uuid import UUID

import asyncpg

from contracts.envelope import Actor
from contracts.intake import TOPIC as INTAKE_TOPIC
from contracts.intake import IntakeEvent, intake_codec
from services.chassis.authorization import Role
from services.chassis.eventstore import CommandContext, PostgresEventStore, install_schema
from services.chassis.ids import uuid7
from services.chassis.jobs import add_job_arguments, job_today
from services.chassis.process import observe
from services.chassis.rebuild import bar
from services.chassis.rules import InvalidTransitionError
from services.chassis.service import WriteSide
from services.intake.app import SPEC, intake_ports
from services.intake.commands import EraseCategory, ErasePerson
from services.intake.domain import fold
from services.intake.handlers import handle
from services.intake.milestones import FactKind
from services.intake.retention_rules import (
    CaseDates,
    Expiry,
    RetentionSchedule,
    expired,
    parse_schedule,
)
from services.intake.settings import IntakeSettings

Progress = Callable[[int, int], None]


def packaged_schedule() -> str:
    """The retention schedule shipped with intake (``services/intake/retention.toml``)."""
    return resources.files("services.intake").joinpath("retention.toml").read_text()


async def case_dates(pool: asyncpg.Pool, progress: Progress) -> list[CaseDates]:
    """Each case's controller and retention dates, folded from its (sealed) events."""
    store = PostgresEventStore[IntakeEvent](pool, INTAKE_TOPIC, intake_codec)
    streams = [r["stream_id"] for r in await pool.fetch("SELECT DISTINCT stream_id FROM events")]
    # A course counts as ended once intake learned its end; one still running ends nothing.
    courses = {
        r["case_id"]: r["last_ended"]
        for r in await pool.fetch(
            "SELECT case_id, max(occurred_at)::date AS last_ended FROM milestone_facts"
            " WHERE kind = $1 GROUP BY case_id HAVING bool_and(ended)",
            FactKind.COURSE.value,
        )
    }
    found: list[CaseDates] = []
    for done, case_id in enumerate(sorted(streams), start=1):
        case = fold(case_id, (envelope.data for envelope in await store.load(case_id)))
        if case is not None:
            found.append(
                CaseDates(
                    case_id=case_id,
                    controller=case.responsible,
                    closed_on=case.closed_on,
                    last_course_ended_on=courses.get(case_id),
                    erased_on=case.erased_on,
                    held_by=case.held_by,
                    categories_erased=case.categories_erased,
                )
            )
        progress(done, len(streams))
    return found


async def erase(pool: asyncpg.Pool, due: Expiry, today: date) -> bool:
    """Erase the person, or the category, through intake's command; False when refused."""
    ports = intake_ports(
        WriteSide(pool, PostgresEventStore[IntakeEvent](pool, INTAKE_TOPIC, intake_codec))
    )
    command: ErasePerson | EraseCategory
    if due.category is None:
        command = ErasePerson(reason=due.reason, erased_on=today)
        key = f"retention:{due.case_id}:{due.rule.id}"
    else:
        command = EraseCategory(
            category=due.category,
            rule=due.rule.id,
            legal_basis=" ".join(due.rule.source.split())[:200],
            kept_until=due.kept_until,
            erased_on=today,
        )
        # A later period of the same category (a course after the erasure) is a new one.
        key = f"retention:{due.case_id}:{due.rule.id}:{due.kept_until}"
    context = CommandContext(
        # A repeated run replays the same erasure (and deletes the keys again), never twice.
        idempotency_key=key,
        agency=due.controller,
        correlation_id=uuid7(),
        # The job erases for the controller's data protection, and the events say so.
        actor=Actor(role=Role.DATA_PROTECTION, reference="job:retention"),
    )
    try:
        await handle(due.case_id, command, context, ports)
    except InvalidTransitionError:
        return False
    return True


async def run(
    dsn: str,
    schedule: RetentionSchedule,
    today: date,
    *,
    apply: bool,
    out: TextIO,
    progress: Progress,
) -> list[Expiry]:
    """List (and with ``apply`` erase) the cases expired on ``today``; returns them."""
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=2)
    try:
        await install_schema(pool, *SPEC.schema_sql())
        due = expired(await case_dates(pool, progress), schedule, today)
        print(
            f"{'case':<36}  {'controller':<10}  {'category':<11}  {'rule':<20}  "
            f"{'kept until':<10}  {'erases':<8}  source",
            file=out,
        )
        for item in due:
            source = " ".join(item.rule.source.split())
            erases = "person" if item.category is None else item.category.value
            print(
                f"{item.case_id}  {item.controller.value:<10}  {item.rule.category.value:<11}"
                f"  {item.rule.id:<20}  {item.kept_until}  {erases:<8}  {source}",
                file=out,
            )
        if not apply:
            print(
                f"{len(due)} expired on {today}; dry run, nothing erased (--apply erases them)",
                file=out,
            )
            return due
        refused: list[UUID] = [item.case_id for item in due if not await erase(pool, item, today)]
        for case_id in refused:
            print(f"refused: {case_id} (changed since the scan; see intake's log)", file=out)
        persons = sum(1 for item in due if item.category is None)
        print(
            f"{len(due) - len(refused)} of {len(due)} expiries erased on {today}"
            f" ({persons} persons, {len(due) - persons} categories)",
            file=out,
        )
        return due
    finally:
        await pool.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.intake.retention",
        description="List what ran out of its retention period (dry run, the default) or "
        "erase it (--apply): a person whose every case-file period ran out through intake's "
        "erasure command (key deletion, intake.person_erased naming the job and the rule); a "
        "category whose own period ran out while the case runs on by intake.category_erased. "
        "Configured like intake (IP_DB_INTAKE); the periods are in "
        "services/intake/retention.toml.",
    )
    add_job_arguments(parser)
    parser.add_argument(
        "--rules", type=Path, default=None, help="a retention schedule (default: the packaged one)"
    )
    args = parser.parse_args(argv)
    settings = IntakeSettings()
    observe("intake.retention", settings)
    schedule = parse_schedule(args.rules.read_text() if args.rules else packaged_schedule())
    today = job_today(args)

    def progress(done: int, total: int) -> None:
        end = "\n" if done >= total else "\r"
        print(f"  scanning {bar(done, total, unit='cases')}", end=end, file=sys.stderr, flush=True)

    asyncio.run(
        run(
            settings.intake_database_url,
            schedule,
            today,
            apply=args.apply,
            out=sys.stdout,
            progress=progress,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
