"""Work-permission eligibility: a pure function of the residence facts, the job, the date
and the AA district of the workplace, under the rule set in force on that date.

Counting the months of the stay (§§ 187 (1), 188 (2), (3) BGB, applied to these periods
by § 31 (1) VwVfG NRW): the rules speak of a person who "sich seit drei (15) Monaten
gestattet, geduldet oder mit einer Aufenthaltserlaubnis im Bundesgebiet aufhält" (§ 61 (2)
AsylG, § 32 (1), (5) BeschV). The stay begins with an event in the course of a day (the
asylum request, the arrival certificate, the Duldung issued), not with the beginning of a
day, so § 187 (1) applies: the day of ``stay_since`` is not counted. Three months from
15 January therefore end with 15 April, and work is possible from 16 April; three months
from 31 January end with 30 April, as April lacks a 31st (§ 188 (3)), and work is
possible from 1 May. Month ``n`` of the stay is the one in which ``n - 1`` months have run
out; the periods themselves are counted in ``services.chassis.periods``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Final

from contracts.intake import ResidenceStatus
from contracts.placement import JobType
from services.chassis.periods import Counting, months_elapsed
from services.chassis.rules import InvalidTransitionError
from services.placement.rulebook import RuleSet, has_good_prospects, rules_in_force

# § 25 (1) and (2) AufenthG: "berechtigt zur Ausübung einer Erwerbstätigkeit"; likewise the
# Niederlassungserlaubnis. No Beschäftigungserlaubnis is needed at all.
WORK_BY_LAW: Final = frozenset(
    {
        ResidenceStatus.AUFENTHALTSERLAUBNIS_25_1,
        ResidenceStatus.AUFENTHALTSERLAUBNIS_25_2_GFK,
        ResidenceStatus.AUFENTHALTSERLAUBNIS_25_2_SUBSIDIAER,
        ResidenceStatus.NIEDERLASSUNGSERLAUBNIS,
    }
)
# Asylum seekers and tolerated persons: § 61 AsylG, § 60a AufenthG and § 32 BeschV.
BESCHV_32: Final = frozenset(
    {
        ResidenceStatus.AUFENTHALTSGESTATTUNG,
        ResidenceStatus.DULDUNG,
        ResidenceStatus.AUSBILDUNGSDULDUNG,
    }
)
# Everything else is taken as a humanitarian permit (§§ 22-26 AufenthG): the Ausländerbehörde
# permits the work, the BA's consent is not needed (§ 31 BeschV).


@dataclass(frozen=True)
class ResidenceFacts:
    """Placement's copy of what the Ausländerbehörde and the BAMF decided."""

    status: ResidenceStatus
    stay_since: date
    valid_until: date | None = None  # last day the document is valid
    reception_centre_obligation: bool = False
    safe_country_of_origin: bool = False
    nationality: str | None = None
    protection_granted: bool = False


class Barrier(StrEnum):
    """Why no work is possible at all on a day."""

    DOCUMENT_EXPIRED = "document_expired"
    RECEPTION_CENTRE_OBLIGATION = "reception_centre_obligation"
    SAFE_COUNTRY_OF_ORIGIN = "safe_country_of_origin"
    WAITING_PERIOD = "waiting_period"

    @property
    def rule(self) -> str:
        return f"eligibility.{self.value}"


@dataclass(frozen=True)
class Assessment:
    """What the rules say about one job on one day."""

    on: date
    rule_version: str
    month_of_stay: int
    barriers: tuple[Barrier, ...]
    permission_needed: bool  # a Beschäftigungserlaubnis of the Ausländerbehörde
    ba_consent_needed: bool
    vorrangpruefung: bool
    beschaeftigungsbedingungen: bool  # the working-conditions check of the BA
    bleibeperspektive: bool  # a listed nationality on that day, or protection granted

    @property
    def may_work(self) -> bool:
        return not self.barriers

    def refuse_if_barred(self) -> None:
        """Raise the first barrier's rule, naming all of them."""
        if self.barriers:
            names = ", ".join(barrier.value for barrier in self.barriers)
            raise InvalidTransitionError(
                self.barriers[0].rule,
                f"no work possible on {self.on} (month {self.month_of_stay} of the stay, "
                f"rules {self.rule_version}): {names}",
            )


def month_of_stay(stay_since: date, on: date) -> int:
    """Which month of the stay ``on`` falls in: 1 on the day the stay began and until one
    month has run out (§§ 187 (1), 188 BGB), then 2, ...; 0 before the stay."""
    if on < stay_since:
        return 0
    return months_elapsed(stay_since, on, Counting.FROM_EVENT) + 1


def _waiting_months(rules: RuleSet, facts: ResidenceFacts, job_type: JobType) -> int:
    """The months with no work at all for this status and job (0: no waiting period)."""
    if facts.status is ResidenceStatus.AUSBILDUNGSDULDUNG and job_type is JobType.BERUFSAUSBILDUNG:
        # The Duldung is granted for this very training (§ 60a (2) S. 4 AufenthG from
        # 6 August 2016, § 60c (1) from 2020); the training needs the Ausländerbehörde's
        # permission but no BA consent (§ 32 (2) Nr. 2 BeschV), and § 32 (1) BeschV's three
        # months are a condition of that consent.
        return 0
    if facts.status is ResidenceStatus.AUFENTHALTSGESTATTUNG:
        return rules.waiting_months_gestattung
    return rules.waiting_months_duldung


def assess(facts: ResidenceFacts, job_type: JobType, on: date, district: str) -> Assessment:
    """The rules in force on ``on`` applied to ``job_type`` in the AA ``district`` of the
    workplace (the Vorrangprüfung's suspension follows the workplace, not the residence)."""
    rules = rules_in_force(on)
    month = month_of_stay(facts.stay_since, on)
    barriers: list[Barrier] = []
    if facts.valid_until is not None and on > facts.valid_until:
        barriers.append(Barrier.DOCUMENT_EXPIRED)
    permission_needed = facts.status not in WORK_BY_LAW
    consent = vorrang = False
    if facts.status in BESCHV_32:
        if facts.reception_centre_obligation:
            barriers.append(Barrier.RECEPTION_CENTRE_OBLIGATION)
        if rules.safe_country_ban and facts.safe_country_of_origin:
            barriers.append(Barrier.SAFE_COUNTRY_OF_ORIGIN)
        if month <= _waiting_months(rules, facts, job_type):
            barriers.append(Barrier.WAITING_PERIOD)
        consent = job_type not in rules.consent_free_jobs and month <= rules.ba_consent_until_month
        vorrang = (
            consent
            and month <= rules.vorrangpruefung_until_month
            and district not in rules.vorrangpruefung_suspended_in
        )
    return Assessment(
        on=on,
        rule_version=rules.version,
        month_of_stay=month,
        barriers=tuple(barriers),
        permission_needed=permission_needed,
        ba_consent_needed=consent,
        vorrangpruefung=vorrang,
        beschaeftigungsbedingungen=consent,
        bleibeperspektive=good_prospects(facts, on),
    )


def good_prospects(facts: ResidenceFacts, on: date) -> bool:
    """Good prospects of staying: protection granted, or a nationality listed on ``on``."""
    return facts.protection_granted or (
        facts.nationality is not None and has_good_prospects(facts.nationality, on)
    )
