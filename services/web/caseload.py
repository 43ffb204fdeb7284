"""The caseload from what a view holds: one summary per case, and the filters.

Pure: the caller hands in the view's timeline of each case (as its read API answers) and
today's date. A view may hold a case only in part (the purpose rules cut fields), so every
field of a summary may be unknown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any, Final
from uuid import UUID

from contracts.common import Site
from contracts.envelope import Agency
from services.projections.steering import FIRST_CONTACT_TARGET_DAYS, JOBCENTERS, Rechtskreis

# The first contact is due within this many days of the allocation (the steering figure's
# target); a case without one after that is overdue.
FIRST_CONTACT_DUE: Final = timedelta(days=FIRST_CONTACT_TARGET_DAYS)


class Status(StrEnum):
    """Where a case stands, as the caseload shows it."""

    FIRST_CONTACT_OPEN = "Erstkontakt offen"
    IN_CARE = "in Betreuung"
    HAND_OVER_PENDING = "Übergabe angefragt"
    HANDED_OVER = "abgegeben"  # another agency is responsible; the history stays readable
    CLOSED = "abgeschlossen"
    ERASED = "gelöscht"


@dataclass(frozen=True)
class CaseSummary:
    """One row of the caseload."""

    case_id: UUID
    given_name: str | None
    family_name: str | None
    site: Site | None
    town: str | None
    rechtskreis: Rechtskreis
    responsible: Agency
    status: Status
    allocated_on: date | None
    first_contact_on: date | None
    first_contact_overdue: bool

    @property
    def name(self) -> str:
        parts = [p for p in (self.family_name, self.given_name) if p]
        return ", ".join(parts) if parts else "(Name nicht sichtbar)"


def _day(value: Any) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) else None


def _agency(value: Any, default: Agency) -> Agency:
    try:
        return Agency(value)
    except ValueError:
        return default


def summarise(  # noqa: PLR0912  # one arm per event reads best
    case_id: UUID, events: Sequence[Mapping[str, Any]], reader: str, today: date
) -> CaseSummary:
    """The summary of one case from its held events (``{"type", "data"}``, oldest first),
    for ``reader`` (the signed-in agency) on ``today``."""
    facts: dict[str, Any] = {}
    responsible = Agency.AA_MG
    pending = closed = erased = handed_away = False
    for event in events:
        data: Mapping[str, Any] = event.get("data") or {}
        match event.get("type"):
            case "intake.person_registered":
                facts.update(
                    {k: data.get(k) for k in ("given_name", "family_name", "site", "town")},
                    allocated_on=_day(data.get("allocated_on")),
                )
            case "intake.first_contact_made":
                facts["first_contact_on"] = _day(data.get("contacted_on"))
            case "intake.wohnsitzauflage_imposed":
                facts.update(site=data.get("site") or facts.get("site"), town=data.get("town"))
            case "intake.hand_over_requested":
                pending = True
            case "intake.hand_over_rejected":
                pending = False
            case "intake.hand_over_accepted":
                pending = False
                responsible = _agency(data.get("to_agency"), responsible)
                # The sender keeps a read-only history; to it the case is handed over.
                handed_away = data.get("from_agency") == reader != responsible.value
                facts["site"] = data.get("new_site") or facts.get("site")
            case "intake.case_closed":
                closed = True
            case "intake.person_erased":
                erased = True
    allocated_on: date | None = facts.get("allocated_on")
    first_contact_on: date | None = facts.get("first_contact_on")
    if erased:
        status = Status.ERASED
    elif closed:
        status = Status.CLOSED
    elif handed_away:
        status = Status.HANDED_OVER
    elif pending:
        status = Status.HAND_OVER_PENDING
    elif first_contact_on is None:
        status = Status.FIRST_CONTACT_OPEN
    else:
        status = Status.IN_CARE
    overdue = (
        status in {Status.FIRST_CONTACT_OPEN, Status.HAND_OVER_PENDING}
        and first_contact_on is None
        and allocated_on is not None
        and today - allocated_on > FIRST_CONTACT_DUE
    )
    site = facts.get("site")
    return CaseSummary(
        case_id=case_id,
        given_name=facts.get("given_name"),
        family_name=facts.get("family_name"),
        site=Site(site) if site in {s.value for s in Site} else None,
        town=facts.get("town"),
        rechtskreis=Rechtskreis.SGB_II if responsible in JOBCENTERS else Rechtskreis.SGB_III,
        responsible=responsible,
        status=status,
        allocated_on=allocated_on,
        first_contact_on=first_contact_on,
        first_contact_overdue=overdue,
    )


@dataclass(frozen=True)
class CaseloadFilter:
    """The caseload's filters; ``None`` (or ``False``) lets every case through."""

    site: Site | None = None
    rechtskreis: Rechtskreis | None = None
    status: Status | None = None
    overdue_only: bool = False

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> CaseloadFilter:
        """From the list page's query string; unknown values are ignored, not an error."""

        def pick(kind: type[StrEnum], name: str) -> Any:
            value = query.get(name, "")
            return next((member for member in kind if member.value == value), None)

        return cls(
            site=pick(Site, "standort"),
            rechtskreis=pick(Rechtskreis, "rechtskreis"),
            status=pick(Status, "status"),
            overdue_only=query.get("ueberfaellig") in {"1", "on", "ja"},
        )

    def admits(self, case: CaseSummary) -> bool:
        return (
            (self.site is None or case.site is self.site)
            and (self.rechtskreis is None or case.rechtskreis is self.rechtskreis)
            and (self.status is None or case.status is self.status)
            and (not self.overdue_only or case.first_contact_overdue)
        )


def caseload(cases: Iterable[CaseSummary], chosen: CaseloadFilter) -> list[CaseSummary]:
    """The cases the filter admits: overdue first, then by allocation (oldest first), name."""
    return sorted(
        (case for case in cases if chosen.admits(case)),
        key=lambda c: (not c.first_contact_overdue, c.allocated_on or date.max, c.name),
    )
