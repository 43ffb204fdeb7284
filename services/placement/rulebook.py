"""Dated reference data: the work-permission rules in force on a day, and the
Bleibeperspektive country list.

The law changed while cases were running, so a rule set is chosen by its effective date
and every decision names the version it applied. A new rule set is a new entry here, never
an edit of an old one: replaying old events must give the same answers.

Sources, oldest first (BGBl. = Bundesgesetzblatt Teil I):

- Gesetz zur Umsetzung der Richtlinie 2011/95/EU vom 28.08.2013, BGBl. I S. 3474, Art. 1
  Nr. 45 with Art. 7 S. 2, in force 06.09.2013: § 61 (2) AsylVfG, asylum seekers may be
  permitted to work after nine months (before: one year). Tolerated persons: § 32 (1)
  BeschV vom 06.06.2013 (BGBl. I S. 1499), one year. The BA's consent, with the priority
  check, until four years of stay (§ 32 (2) Nr. 5 BeschV 2013); training consent-free
  (§ 32 (2) Nr. 2 BeschV 2013).
- Gesetz zur Einstufung weiterer Staaten als sichere Herkunftsstaaten und zur Erleichterung
  des Arbeitsmarktzugangs für Asylbewerber und geduldete Ausländer vom 31.10.2014, BGBl. I
  S. 1649, in force 06.11.2014: the waiting period is three months for both (Art. 1 Nr. 1:
  § 61 (2) AsylVfG; Art. 2: § 32 (1) BeschV).
- Zweite Verordnung zur Änderung der Beschäftigungsverordnung vom 06.11.2014, BGBl. I
  S. 1683, promulgated 10.11.2014, in force the day after (11.11.2014): § 32 (5) Nr. 2
  BeschV, no priority check after 15 months of permitted, tolerated or gestattet stay.
- Asylverfahrensbeschleunigungsgesetz vom 20.10.2015, BGBl. I S. 1722, in force
  24.10.2015: AsylVfG becomes AsylG; the safe-country ban (§ 61 (2) S. 4 AsylG, § 60a (6)
  Nr. 3 AufenthG); the Bleibeperspektive list decides access to integration courses.
- Verordnung zum Integrationsgesetz vom 31.07.2016, BGBl. I S. 1950, in force 06.08.2016:
  no priority check in 133 of 156 AA districts (Anlage zu § 32 BeschV), Mönchengladbach
  among them.

Not yet recorded: the consent-free internships of § 22 (1) MiLoG (EQ among them) entered
§ 32 (2) Nr. 1 BeschV in summer 2015; the rule sets before 24.10.2015 list training only,
until the exact day of that change is confirmed and its own rule set added.

Every period counts from ``stay_since`` by §§ 187 (1), 188 BGB (``eligibility``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from typing import Final

from contracts.common import AA_DISTRICT_MG
from contracts.placement import JobType
from services.chassis.rules import InvalidTransitionError


@dataclass(frozen=True)
class RuleSet:
    """The Beschäftigungsverordnung (BeschV) and AsylG rules for asylum seekers and
    tolerated persons, as in force from ``effective_from``. Each "month" mark is a period
    counted from ``stay_since`` (``eligibility.month_of_stay``): the rule applies in the
    months up to and including it, and no longer once that many months have run out."""

    version: str
    effective_from: date
    waiting_months_gestattung: int  # § 61 (2) AsylG: "seit drei Monaten gestattet"
    waiting_months_duldung: int  # § 32 (1) BeschV: "seit drei Monaten ... geduldet"
    vorrangpruefung_until_month: int  # § 32 (5) BeschV: "seit 15 Monaten ununterbrochen"
    ba_consent_until_month: int  # § 32 (2) Nr. 5 BeschV: "vierjährigen" stay, 48 months
    consent_free_jobs: frozenset[JobType]  # § 32 (2) BeschV
    vorrangpruefung_suspended_in: frozenset[str]  # AA districts, Anlage zu § 32 BeschV
    safe_country_ban: bool  # § 61 (2) S. 4 AsylG, § 60a (6) Nr. 3 AufenthG


# § 32 (2) Nr. 2 BeschV: training in a state-recognised occupation needs no consent.
_TRAINING: Final = frozenset({JobType.BERUFSAUSBILDUNG})
_CONSENT_FREE: Final = frozenset(
    # Training and the internships of § 22 (1) MiLoG (EQ is one of them) need no consent.
    {JobType.BERUFSAUSBILDUNG, JobType.PRAKTIKUM, JobType.EINSTIEGSQUALIFIZIERUNG}
)

# Each amendment is written as what it changed in the rules before it.
_RICHTLINIENUMSETZUNG_2013: Final = RuleSet(
    # Nine months for asylum seekers, a year when tolerated; the BA's consent with its
    # priority check for four years.
    version="asylvfg-2013-09-06",
    effective_from=date(2013, 9, 6),
    waiting_months_gestattung=9,
    waiting_months_duldung=12,
    vorrangpruefung_until_month=48,
    ba_consent_until_month=48,
    consent_free_jobs=_TRAINING,
    vorrangpruefung_suspended_in=frozenset(),
    safe_country_ban=False,
)
_ARBEITSMARKTZUGANG_2014: Final = replace(
    # BGBl. I 2014 S. 1649: the waiting period shortened to three months for both.
    _RICHTLINIENUMSETZUNG_2013,
    version="asylvfg-2014-11-06",
    effective_from=date(2014, 11, 6),
    waiting_months_gestattung=3,
    waiting_months_duldung=3,
)
_BESCHV_2014: Final = replace(
    # BGBl. I 2014 S. 1683: no priority check after 15 months.
    _ARBEITSMARKTZUGANG_2014,
    version="beschv-2014-11-11",
    effective_from=date(2014, 11, 11),
    vorrangpruefung_until_month=15,
)
_ASYLVERFAHRENSBESCHLEUNIGUNG_2015: Final = replace(
    # The safe-country ban joins the 2014 BeschV rules. Also the first set recorded with
    # the consent-free internships (see "Not yet recorded" above).
    _BESCHV_2014,
    version="beschv-2015-10-24",
    effective_from=date(2015, 10, 24),
    consent_free_jobs=_CONSENT_FREE,
    safe_country_ban=True,
)
_INTEGRATIONSGESETZ_2016: Final = replace(
    # Verordnung zum Integrationsgesetz: no Vorrangprüfung in 133 of 156 AA districts,
    # Mönchengladbach among them; Duisburg, for one, kept it.
    _ASYLVERFAHRENSBESCHLEUNIGUNG_2015,
    version="beschv-2016-08-06",
    effective_from=date(2016, 8, 6),
    vorrangpruefung_suspended_in=frozenset({AA_DISTRICT_MG}),
)

RULE_SETS: Final = (
    _RICHTLINIENUMSETZUNG_2013,
    _ARBEITSMARKTZUGANG_2014,
    _BESCHV_2014,
    _ASYLVERFAHRENSBESCHLEUNIGUNG_2015,
    _INTEGRATIONSGESETZ_2016,
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
