"""Who may issue which command: the pure machinery each service's domain fills with its table.

A service's domain declares ``WHO_MAY_ISSUE: dict[command type, Rule]``. A ``Rule`` is a name
(what a refusal says) and the grants that satisfy it: a party in relation to the case (the
responsible agency, the Ausländerbehörde of the case's town, the Agentur, ...) in one of a
set of roles. ``authorise`` is pure: the acting agency and role come from the verified token,
the facts about the case from the service's own state, and it answers ``None`` (allowed) or
the ``Refusal`` naming the rule. ``docs/authorization.md`` is rendered from the tables
(``python -m services.authorization --write``), so what a data-protection officer reviews is
what runs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from contracts.common import Site
from contracts.envelope import Agency
from services.chassis.rules import InvalidTransitionError, NotPermittedError, UnknownCaseError


class Role(StrEnum):
    """The roles a provider's token names (claim ``role``)."""

    CASE_WORKER = "case_worker"
    ABH_CASE_WORKER = "abh_case_worker"  # Ausländerbehörde of a municipality
    SOZIALAMT_CASE_WORKER = "sozialamt_case_worker"  # Sozialamt of a municipality
    DATA_PROTECTION = "data_protection"
    STEERING = "steering"  # aggregates only: writes nothing


# The roles each agency's staff hold (the demo realm's users; an agency's own provider may
# issue fewer). The municipalities run the Ausländerbehörde and the Sozialamt.
ROLES_OF_AGENCY: Final[dict[Agency, tuple[Role, ...]]] = {
    Agency.AA_MG: (Role.CASE_WORKER, Role.DATA_PROTECTION, Role.STEERING),
    Agency.JC_MG: (Role.CASE_WORKER, Role.DATA_PROTECTION, Role.STEERING),
    Agency.JC_RKN: (Role.CASE_WORKER, Role.DATA_PROTECTION, Role.STEERING),
    Agency.STADT_MG: (
        Role.ABH_CASE_WORKER,
        Role.SOZIALAMT_CASE_WORKER,
        Role.DATA_PROTECTION,
        Role.STEERING,
    ),
    Agency.RKN: (
        Role.ABH_CASE_WORKER,
        Role.SOZIALAMT_CASE_WORKER,
        Role.DATA_PROTECTION,
        Role.STEERING,
    ),
}

# The Ausländerbehörde of each site's town.
RESIDENCE_AUTHORITY: Final[dict[Site, Agency]] = {
    Site.MG: Agency.STADT_MG,
    Site.NE: Agency.RKN,
    Site.GV: Agency.RKN,
}


@dataclass(frozen=True)
class Acting:
    """Who issues the command, from the verified token: ``agency`` is None for a principal
    that is no agency of the network (a partner: partners report through their own channel)."""

    agency: Agency | None
    role: str

    @classmethod
    def of(cls, agency: str, role: str) -> Acting:
        """From a token's claims, whatever they say."""
        known = agency in {member.value for member in Agency}
        return cls(Agency(agency) if known else None, role)


@dataclass(frozen=True)
class KnownCase:
    """What a service knows of a case from intake's topic: who is responsible, and where."""

    responsible: Agency
    site: Site
    erased: bool = False


@dataclass(frozen=True)
class Party:
    """Someone in relation to the case: ``holds(acting agency, command, facts)`` says
    whether the acting agency is that party (``facts`` is the service's view of the case)."""

    name: str
    holds: Callable[[Agency, Any, Any], bool]


@dataclass(frozen=True)
class Grant:
    """A party, acting in one of the roles."""

    party: Party
    roles: frozenset[Role]

    @classmethod
    def to(cls, party: Party, *roles: Role) -> Grant:
        return cls(party, frozenset(roles))


@dataclass(frozen=True)
class Rule:
    """A rule's name (what a refusal names) and the grants any one of which allows."""

    name: str
    grants: tuple[Grant, ...]

    def says(self) -> str:
        """The rule in words, for a refusal and the reviewed table."""
        return " or ".join(
            f"{grant.party.name} ({', '.join(sorted(grant.roles))})" for grant in self.grants
        )


@dataclass(frozen=True)
class Refusal:
    """Why the principal may not issue the command."""

    rule: str
    detail: str


def authorise(
    table: Mapping[type, Rule], acting: Acting, command: object, facts: object
) -> Refusal | None:
    """None when ``acting`` may issue ``command`` on the case ``facts`` describe, else the
    refusal naming the rule. A command type missing from the table is refused: nothing is
    allowed by omission."""
    rule = table.get(type(command))
    if rule is None:
        return Refusal("command.not_in_the_table", f"nobody may issue {type(command).__name__}")
    if acting.agency is not None:
        for grant in rule.grants:
            if acting.role in grant.roles and grant.party.holds(acting.agency, command, facts):
                return None
    who = acting.agency.value if acting.agency is not None else "a principal of no agency"
    return Refusal(rule.name, f"only {rule.says()}; not {who} as {acting.role}")


def permit_on_known_case(
    table: Mapping[type, Rule], acting: Acting, command: object, case: KnownCase | None
) -> None:
    """For a service that learns its cases from intake: an unknown case is refused first
    (404: it opens no case), an erased one next, then who may issue the command (403)."""
    if case is None:
        raise UnknownCaseError("case.unknown", "no case of this id was registered with intake")
    if case.erased:
        raise InvalidTransitionError("case.erased", "the person was erased")
    refusal = authorise(table, acting, command, case)
    if refusal is not None:
        raise NotPermittedError(refusal.rule, refusal.detail)


# Parties every service names, on a ``KnownCase``.
def _responsible(agency: Agency, _: object, case: KnownCase | None) -> bool:
    return case is not None and agency is case.responsible


def _residence_authority(agency: Agency, _: object, case: KnownCase | None) -> bool:
    return case is not None and agency is RESIDENCE_AUTHORITY[case.site]


RESPONSIBLE: Final = Party("the responsible agency", _responsible)
RESIDENCE_AUTHORITY_OF_THE_CASE: Final = Party(
    "the Ausländerbehörde of the case's town", _residence_authority
)
AGENTUR: Final = Party("the Agentur für Arbeit", lambda agency, _c, _f: agency is Agency.AA_MG)
