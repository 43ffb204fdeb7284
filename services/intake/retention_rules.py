"""Retention (DSGVO Art. 5(1)(e), Art. 17(1)(a)): how long each controller keeps each
category of a person's data, and which cases are due for erasure on a given day (pure).

A rule says: the controller's data of this category is kept for ``keep_years`` from a dated
fact of the case, and erased after that at the latest. Erasure works per person (one key
ring per person), so a case is due as soon as the *first* of the rules that apply to it has
run out: every rule's period is a maximum, and erasing the person honours all of them. The
periods are counted like a German legal period (§§ 187 (1), 188 (2), (3) BGB, in
``services.chassis.periods``): five years from
31 March 2016 are kept through 31 March 2021; from 29 February, through 28 February.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Self
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.envelope import Agency
from services.chassis.periods import Counting, period_end


class RetentionCategory(StrEnum):
    """The categories a retention period is set for."""

    CASE_FILE = "case_file"  # the counselling and placement file of the Integration Point
    COURSE_DATA = "course_data"  # language course participation (DeuFöV, IntV)


class CountedFrom(StrEnum):
    """The dated fact of a case a retention period runs from."""

    CASE_CLOSED = "case_closed"  # the business date of the closing
    LAST_COURSE_ENDED = "last_course_ended"  # the day the last of its courses ended


class RetentionRule(BaseModel):
    """One row of the retention schedule, with the law (or decision) it rests on."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$", description="cited in erasure events")
    controllers: tuple[Agency, ...] = Field(min_length=1)
    category: RetentionCategory
    keep_years: int = Field(ge=1, le=30)
    counted_from: CountedFrom
    source: str = Field(min_length=1, description="the legal source of the period")
    note: str | None = None


class RetentionSchedule(BaseModel):
    """The whole schedule: at most one rule per controller and category."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rule: tuple[RetentionRule, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_rule_per_controller_and_category(self) -> Self:
        seen: set[tuple[Agency, RetentionCategory]] = set()
        for rule in self.rule:
            for controller in rule.controllers:
                if (controller, rule.category) in seen:
                    raise ValueError(f"two rules for {controller} and {rule.category}")
                seen.add((controller, rule.category))
        if len({rule.id for rule in self.rule}) < len(self.rule):
            raise ValueError("rule ids must be unique")
        return self


def parse_schedule(text: str) -> RetentionSchedule:
    """The schedule from its TOML text (``[[rule]]`` tables), validated."""
    return RetentionSchedule.model_validate(tomllib.loads(text))


@dataclass(frozen=True)
class CaseDates:
    """What the retention rules look at: the controller and a few dates, no personal data."""

    case_id: UUID
    controller: Agency  # the responsible agency, on whose behalf the case is erased
    closed_on: date | None = None
    last_course_ended_on: date | None = None  # None also while a course is running
    erased_on: date | None = None


@dataclass(frozen=True)
class Expiry:
    """A case due for erasure: the rule that ran out first, and the last day it allowed."""

    case_id: UUID
    controller: Agency
    rule: RetentionRule
    kept_until: date

    @property
    def reason(self) -> str:
        """The erasure's recorded reason: who (the job) and why (the rule); fits the event's
        200 characters, as rule ids are short."""
        return (
            f"retention job: rule {self.rule.id} ({self.rule.category}) "
            f"kept until {self.kept_until}"
        )


def kept_until(start: date, years: int) -> date:
    """The last day of a period of ``years`` from ``start``: the closing or the course's end
    is an event, so its day is not counted (§§ 187 (1), 188 (2), (3) BGB)."""
    return period_end(start, 12 * years, Counting.FROM_EVENT)


def _start(case: CaseDates, counted_from: CountedFrom) -> date | None:
    match counted_from:
        case CountedFrom.CASE_CLOSED:
            return case.closed_on
        case CountedFrom.LAST_COURSE_ENDED:
            return case.last_course_ended_on


def expiry(case: CaseDates, schedule: RetentionSchedule, today: date) -> Expiry | None:
    """The case's expiry if one of the rules for its controller ran out before ``today``."""
    if case.erased_on is not None:
        return None
    due: list[Expiry] = []
    for rule in schedule.rule:
        start = _start(case, rule.counted_from)
        if case.controller not in rule.controllers or start is None:
            continue
        until = kept_until(start, rule.keep_years)
        if today > until:
            due.append(Expiry(case.case_id, case.controller, rule, until))
    return min(due, key=lambda e: (e.kept_until, e.rule.id), default=None)


def expired(cases: list[CaseDates], schedule: RetentionSchedule, today: date) -> list[Expiry]:
    """Every case due for erasure on ``today``, the longest overdue first."""
    found = [e for case in cases if (e := expiry(case, schedule, today)) is not None]
    return sorted(found, key=lambda e: (e.kept_until, str(e.case_id)))
