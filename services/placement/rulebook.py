"""Dated reference data: the work-permission rules in force on a day, and the
Bleibeperspektive country list.

The law changed while cases were running, so a rule set is chosen by its effective date
and every decision names the version it applied. A new rule set is a new entry here, never
an edit of an old one: replaying old events must give the same answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

from contracts.common import AA_DISTRICT_MG
from contracts.placement import JobType
from services.chassis.rules import InvalidTransitionError


@dataclass(frozen=True)
class RuleSet:
    """The Beschäftigungsverordnung (BeschV) and AsylG rules for asylum seekers and
    tolerated persons, as in force from ``effective_from``; months count from the start of
    the stay (see ``eligibility.month_of_stay``)."""

    version: str
    effective_from: date
    waiting_months: int  # § 61 (2) AsylG, § 32 (1) BeschV: no work in these months
    vorrangpruefung_until_month: int  # § 32 (5) Nr. 3 BeschV
    ba_consent_until_month: int  # § 32 (5) Nr. 2 BeschV: working-conditions check
    consent_free_jobs: frozenset[JobType]  # § 32 (2) BeschV
    vorrangpruefung_suspended_in: frozenset[str]  # AA districts, Anlage zu § 32 BeschV
    safe_country_ban: bool  # § 61 (2) S. 4 AsylG, § 60a (6) Nr. 3 AufenthG


_CONSENT_FREE: Final = frozenset(
    # Training and the internships of § 22 (1) MiLoG (EQ is one of them) need no consent.
    {JobType.BERUFSAUSBILDUNG, JobType.PRAKTIKUM, JobType.EINSTIEGSQUALIFIZIERUNG}
)

RULE_SETS: Final = (
    # Asylverfahrensbeschleunigungsgesetz: the safe-country ban joins the 2014 BeschV rules.
    RuleSet(
        version="beschv-2015-10-24",
        effective_from=date(2015, 10, 24),
        waiting_months=3,
        vorrangpruefung_until_month=15,
        ba_consent_until_month=48,
        consent_free_jobs=_CONSENT_FREE,
        vorrangpruefung_suspended_in=frozenset(),
        safe_country_ban=True,
    ),
    # Verordnung zum Integrationsgesetz: no Vorrangprüfung in 133 of 156 AA districts,
    # Mönchengladbach among them; Duisburg, for one, kept it.
    RuleSet(
        version="beschv-2016-08-06",
        effective_from=date(2016, 8, 6),
        waiting_months=3,
        vorrangpruefung_until_month=15,
        ba_consent_until_month=48,
        consent_free_jobs=_CONSENT_FREE,
        vorrangpruefung_suspended_in=frozenset({AA_DISTRICT_MG}),
        safe_country_ban=True,
    ),
)


def rules_in_force(on: date) -> RuleSet:
    """The newest rule set effective on ``on``; refuses a day before the first one."""
    in_force = [rules for rules in RULE_SETS if rules.effective_from <= on]
    if not in_force:
        first = min(rules.effective_from for rules in RULE_SETS)
        raise InvalidTransitionError(
            "eligibility.no_rules_in_force", f"no rule set is recorded before {first}"
        )
    return max(in_force, key=lambda rules: rules.effective_from)


@dataclass(frozen=True)
class Listing:
    """A country on the Bleibeperspektive list (protection rate above 50 %) for a period."""

    country: str
    listed_from: date
    listed_until: date | None = None  # last day listed; None while still listed


# From the Asylverfahrensbeschleunigungsgesetz, which made the list decide access to
# integration courses; Somalia joined on 1 Aug 2016.
BLEIBEPERSPEKTIVE: Final = (
    Listing("SYR", date(2015, 10, 24)),
    Listing("ERI", date(2015, 10, 24)),
    Listing("IRQ", date(2015, 10, 24)),
    Listing("IRN", date(2015, 10, 24)),
    Listing("SOM", date(2016, 8, 1)),
)


def has_good_prospects(nationality: str, on: date) -> bool:
    """Whether ``nationality`` (ISO 3166-1 alpha-3) was on the list on ``on``."""
    return any(
        listing.country == nationality
        and listing.listed_from <= on
        and (listing.listed_until is None or on <= listing.listed_until)
        for listing in BLEIBEPERSPEKTIVE
    )
