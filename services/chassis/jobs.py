"""The command line every data-protection job shares: a dry run unless told ``--apply``,
and an injectable clock (``--today``) so that a run can be repeated and tested on fixed dates."""

from __future__ import annotations

import argparse
from datetime import date

from services.chassis import clock


def add_job_arguments(parser: argparse.ArgumentParser) -> None:
    """``--dry-run`` (the default) | ``--apply``, and ``--today``."""
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="list only (the default)")
    mode.add_argument("--apply", action="store_true", help="carry out what is listed")
    parser.add_argument(
        "--today",
        type=date.fromisoformat,
        default=None,
        help="the day to judge on, YYYY-MM-DD (default: today in Europe/Berlin)",
    )


def job_today(args: argparse.Namespace) -> date:
    """The day the job judges on: ``--today``, or the calendar day in Germany now."""
    given: date | None = args.today
    return given if given is not None else clock.today()
