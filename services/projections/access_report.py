"""``python -m services.projections.access_report CASE_ID``: a person's access report
(Art. 15 GDPR / DSGVO): who saw which of their data, when and for which purpose, and every
disclosure of it to another agency or partner, with its legal basis or consent.

It reads every view database of a run: the ``public.access_log`` each view's read API keeps
(granted and refused reads, with the reader's agency, user, role and purpose) and its
``public.disclosures`` log (from, to, category, legal basis or consent).
The databases are the ``IP_DB_PROJ_<VIEW>`` keys of the run's ``stack.env`` (``make run``:
``.local/dev/stack.env``), or given one by one with ``--dsn VIEW=DSN``. A view database that
cannot be read makes the report incomplete: it says so and the command exits with 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import asyncpg

REPO = Path(__file__).resolve().parents[2]
DEFAULT_STATE = REPO / ".local" / "dev"
DSN_PREFIX = "IP_DB_PROJ_"


@dataclass(frozen=True)
class Access:
    """One read of a view that concerned the case (or a refused attempt)."""

    at: datetime
    view: str
    agency: str
    user: str
    role: str
    purpose: str
    what: str  # method and path
    listed: bool  # a caseload that showed the case's id, not the case itself
    categories: tuple[str, ...]
    granted: bool
    reason: str | None


@dataclass(frozen=True)
class Transfer:
    """One disclosure of the case's data into a view."""

    at: datetime
    from_agency: str
    to_view: str
    category: str | None
    legal_basis: str | None
    consent_id: UUID | None


@dataclass
class AccessReport:
    case_id: UUID
    generated_at: datetime
    views: list[str] = field(default_factory=list)
    reads: list[Access] = field(default_factory=list)
    disclosures: list[Transfer] = field(default_factory=list)
    unreadable: dict[str, str] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return not self.unreadable


def view_dsns(env: Mapping[str, str]) -> dict[str, str]:
    """The view databases of a run's environment: ``IP_DB_PROJ_JC_MG`` → ``jc_mg``."""
    return {
        key.removeprefix(DSN_PREFIX).lower(): dsn
        for key, dsn in sorted(env.items())
        if key.startswith(DSN_PREFIX) and dsn
    }


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines (``stack.env``)."""
    pairs = (
        line.split("=", 1)
        for line in path.read_text().splitlines()
        if "=" in line and not line.lstrip().startswith("#")
    )
    return {key.strip(): value.strip() for key, value in pairs}


async def table_exists(conn: asyncpg.Connection, table: str) -> bool:
    return bool(await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", table))


async def _read_view(report: AccessReport, dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        if await table_exists(conn, "public.access_log"):
            rows = await conn.fetch(
                "SELECT at, view, agency, user_name, role, purpose, method, path,"
                " case_id IS DISTINCT FROM $1 AS listed, categories, granted, reason"
                " FROM public.access_log WHERE case_id = $1 OR $1 = ANY(listed) ORDER BY at, id",
                report.case_id,
            )
            report.reads.extend(
                Access(
                    at=r["at"],
                    view=r["view"],
                    agency=r["agency"],
                    user=r["user_name"],
                    role=r["role"],
                    purpose=r["purpose"],
                    what=f"{r['method']} {r['path']}",
                    listed=r["listed"],
                    categories=tuple(r["categories"]),
                    granted=r["granted"],
                    reason=r["reason"],
                )
                for r in rows
            )
        if await table_exists(conn, "public.disclosures"):
            rows = await conn.fetch(
                "SELECT * FROM public.disclosures WHERE case_id = $1"
                " ORDER BY disclosed_at, event_id",
                report.case_id,
            )
            report.disclosures.extend(
                Transfer(
                    at=r["disclosed_at"],
                    from_agency=r["from_agency"],
                    to_view=r["to_view"],
                    category=r["category"],
                    legal_basis=r["legal_basis"],
                    consent_id=r["consent_id"],
                )
                for r in rows
            )
    finally:
        await conn.close()


async def access_report(case_id: UUID, dsns: Mapping[str, str]) -> AccessReport:
    """The report of one case across the given view databases (view name → DSN)."""
    report = AccessReport(case_id=case_id, generated_at=datetime.now(UTC), views=sorted(dsns))
    for view, dsn in sorted(dsns.items()):
        try:
            await _read_view(report, dsn)
        except (OSError, asyncpg.PostgresError) as error:
            report.unreadable[view] = f"{type(error).__name__}: {error}"
    report.reads.sort(key=lambda a: (a.at, a.view))
    report.disclosures.sort(key=lambda d: (d.at, d.to_view, d.category or ""))
    return report


def _when(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def render_text(report: AccessReport) -> str:
    """The report for a person to read."""
    granted = [a for a in report.reads if a.granted]
    refused = [a for a in report.reads if not a.granted]
    lines = [
        f"Access report (Art. 15 GDPR / DSGVO) for case {report.case_id}",
        f"generated {_when(report.generated_at)} from the views: {', '.join(report.views)}",
    ]
    if report.unreadable:
        lines.append("INCOMPLETE: these views could not be read:")
        lines.extend(f"  {view}: {why}" for view, why in sorted(report.unreadable.items()))
    lines += ["", f"Who saw the data ({len(granted)} reads)"]
    for a in granted:
        what = (
            "the case in a caseload list"
            if a.listed
            else f"{', '.join(a.categories) or 'the case log'} ({a.what})"
        )
        lines.append(
            f"  {_when(a.at)}  {a.agency} / {a.user} ({a.role}) in view {a.view}: {what};"
            f" purpose: {a.purpose}"
        )
    lines += ["", f"Refused requests ({len(refused)})"]
    lines.extend(
        f"  {_when(a.at)}  {a.agency} / {a.user} ({a.role}) in view {a.view}: {a.what};"
        f" purpose: {a.purpose}; refused: {a.reason}"
        for a in refused
    )
    lines += ["", f"Disclosures ({len(report.disclosures)})"]
    for d in report.disclosures:
        ground = (
            f"consent {d.consent_id}"
            if d.consent_id is not None
            else f"legal basis {d.legal_basis or 'none recorded'}"
        )
        lines.append(
            f"  {_when(d.at)}  from {d.from_agency} to {d.to_view}:"
            f" {d.category or 'case administration'}; {ground}"
        )
    return "\n".join(lines) + "\n"


def render_json(report: AccessReport) -> str:
    return json.dumps(
        {**asdict(report), "complete": report.complete}, default=str, indent=2, ensure_ascii=False
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m services.projections.access_report",
        description="A person's access report (Art. 15 GDPR): who saw which data of the case "
        "when and for which purpose, and every disclosure with its legal basis or consent, "
        "from the access logs and disclosure logs of every view database of a run.",
    )
    parser.add_argument("case_id", type=UUID, help="the person's case id")
    add_view_database_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    return parser


def add_view_database_arguments(parser: argparse.ArgumentParser) -> None:
    """``--state-dir`` (a run's stack.env names the view databases) or ``--dsn VIEW=DSN``."""
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_STATE,
        help=f"the run whose stack.env names the view databases (default: {DEFAULT_STATE})",
    )
    parser.add_argument(
        "--dsn",
        action="append",
        default=[],
        metavar="VIEW=DSN",
        help="a view database to read (repeatable; instead of the run's stack.env)",
    )


def view_databases(parser: argparse.ArgumentParser, args: argparse.Namespace) -> dict[str, str]:
    """The view databases the arguments name (view name → DSN); a usage error otherwise."""
    if args.dsn:
        if any("=" not in item for item in args.dsn):
            parser.error("--dsn takes VIEW=DSN")
        return dict(item.split("=", 1) for item in args.dsn)
    env_file = args.state_dir / "stack.env"
    if not env_file.exists():
        parser.error(f"{env_file} does not exist: is the run up? (or pass --dsn)")
    dsns = view_dsns(read_env_file(env_file))
    if not dsns:
        parser.error(f"{env_file} names no view database ({DSN_PREFIX}<VIEW>)")
    return dsns


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    dsns = view_databases(parser, args)
    report = asyncio.run(access_report(args.case_id, dsns))
    sys.stdout.write(render_json(report) + "\n" if args.json else render_text(report))
    return 0 if report.complete else 1


if __name__ == "__main__":
    sys.exit(main())
