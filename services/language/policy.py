"""Which body may issue which course, and where each course leads (pure, stateless).

Integrationskurs (§§ 44, 44a AufenthG): the Ausländerbehörde admits or obliges; the BAMF only
admits (§ 44 (4)); a Jobcenter only obliges its SGB II clients (§ 44a (1) no. 2). The Agentur
issues neither: it advises and supports the person's application to the BAMF.
Berufssprachkurs (DeuFöV § 4): the Agentur or a Jobcenter admits; only a Jobcenter may oblige,
as part of the SGB II duties to cooperate.
"""

from __future__ import annotations

from typing import Final

from contracts.common import CefrLevel
from contracts.language import CourseType, EntitlementKind, Issuer

_BOTH: Final = frozenset(EntitlementKind)
_BERECHTIGUNG: Final = frozenset({EntitlementKind.BERECHTIGUNG})
_VERPFLICHTUNG: Final = frozenset({EntitlementKind.VERPFLICHTUNG})

INTEGRATIONSKURS_ISSUERS: Final[dict[Issuer, frozenset[EntitlementKind]]] = {
    Issuer.ABH: _BOTH,
    Issuer.BAMF: _BERECHTIGUNG,
    Issuer.JOBCENTER: _VERPFLICHTUNG,
}
BERUFSSPRACHKURS_ISSUERS: Final[dict[Issuer, frozenset[EntitlementKind]]] = {
    Issuer.AGENTUR: _BERECHTIGUNG,
    Issuer.JOBCENTER: _BOTH,
}

# A Basismodul leads one level up: B1 -> B2, B2 -> C1, C1 -> C2.
BASISMODUL_TARGETS: Final = (CefrLevel.B2, CefrLevel.C1, CefrLevel.C2)

# Every Berufssprachkurs starts from B1, or from a completed Integrationskurs (Spezialmodule
# A2/B1 are for those who completed it without reaching B1).
BERUFSSPRACHKURS_ENTRY: Final = CefrLevel.B1


def issue_problem(course_type: CourseType, kind: EntitlementKind, issuer: Issuer) -> str | None:
    """Why ``issuer`` may not issue this kind of entitlement to this course (None if it may)."""
    table = (
        BERUFSSPRACHKURS_ISSUERS if course_type.is_berufssprachkurs else INTEGRATIONSKURS_ISSUERS
    )
    kinds = table.get(issuer, frozenset())
    if kind in kinds:
        return None
    if not kinds:
        allowed = ", ".join(sorted(table))
        return f"{course_type} is issued only by {allowed}, not by {issuer}"
    return f"{issuer} may not issue a {kind} for {course_type}"


def target_level_problem(course_type: CourseType, target: CefrLevel | None) -> str | None:
    """Why ``target`` is no target level of the course (None if it fits)."""
    if course_type is CourseType.BERUFSSPRACHKURS_BASIS:
        if target not in BASISMODUL_TARGETS:
            return "a Basismodul leads to B2, C1 or C2"
        return None
    if course_type is CourseType.BERUFSSPRACHKURS_SPEZIAL:
        return None  # Spezialmodule range from A2/B1 to occupation-specific C1
    if target is not None:
        return "an Integrationskurs has no target level to choose: it leads to B1"
    return None


def basismodul_entry_level(target: CefrLevel) -> CefrLevel:
    """The level a person needs to start a Basismodul leading to ``target``."""
    return list(CefrLevel)[target.rank - 1]
