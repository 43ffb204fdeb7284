"""Retention (DSGVO Art. 5(1)(e), Art. 17(1)(a)): how long each controller keeps each
category of a person's data, and what is due for erasure on a given day (pure).

A rule says: the controller's data of this category is kept for ``keep_years`` from a dated
fact of the case, and erased after that at the latest. Two kinds of erasure follow:

- a **category** (e.g. DeuFöV course data) whose period ran out while the case file is still
  needed goes on its own: ``intake.category_erased``, which every view and partner feed
  honours; the person and the rest of the case stay;
- the **person** (the case file, every key) goes only once the case-file period of every
  controller that held the case has run out: a Jobcenter that still looks after the person
  keeps the case, whatever period of another category or controller ended.

The periods are counted like a German legal period (§§ 187 (1), 188 (2), (3) BGB, in
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
from contracts.intake import DataCategory
from services.chassis.periods import Counting, period_end


class RetentionCategory(StrEnum):
    """The categories a retention period is set for."""

    CASE_FILE = "case_file"  # the counselling and placement file of the Integration Point
    COURSE_DATA = "course_data"  # language course participation (DeuFöV, IntV)

    @property
    def erases(self) -> DataCategory | None:
        """The data category of the events this period covers; None: the whole case file,
        which is the person (their keys)."""
        return _ERASES[self]


_ERASES: dict[RetentionCategory, DataCategory | None] = {
    RetentionCategory.CASE_FILE: None,
    # Entitlements, placement tests, enrolments, attendance and exams: the language topic.
    RetentionCategory.COURSE_DATA: DataCategory.LANGUAGE,
}


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
    """What the retention rules look at: the controllers and a few dates, no personal data."""

    case_id: UUID
    controller: Agency  # the responsible agency, on whose behalf an erasure is recorded
    closed_on: date | None = None
    last_course_ended_on: date | None = None  # None also while a course is running
    erased_on: date | None = None
    held_by: frozenset[Agency] = frozenset()  # every controller that held the case
    # Per category erased already: the end of the period it was erased after.
    categories_erased: tuple[tuple[DataCategory, date], ...] = ()

    @property
    def controllers(self) -> frozenset[Agency]:
        return self.held_by | {self.controller}

    def erased_after(self, category: DataCategory) -> date | None:
        return max((until for c, until in self.categories_erased if c is category), default=None)


@dataclass(frozen=True)
class Expiry:
    """Something due for erasure: the rule whose period ran out, and the last day it allowed.
    The person when the rule is the case file's, else only the rule's data category."""

    case_id: UUID
    controller: Agency
    rule: RetentionRule
    kept_until: date

    @property
    def category(self) -> DataCategory | None:
        """The data category that goes; None: the person."""
        return self.rule.category.erases

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


def _until(case: CaseDates, rule: RetentionRule) -> date | None:
    start = _start(case, rule.counted_from)
    return None if start is None else kept_until(start, rule.keep_years)


def expiries(case: CaseDates, schedule: RetentionSchedule, today: date) -> list[Expiry]:
    """What of the case is due on ``today``: the person, once every case-file period of
    every controller that held it ran out before ``today``; otherwise each category whose
    own period ran out and that was not erased after that period yet."""
    if case.erased_on is not None:
        return []
    rules = [r for r in schedule.rule if case.controllers & set(r.controllers)]
    files = [rule for rule in rules if rule.category.erases is None]
    ends = [(until, rule) for rule in files if (until := _until(case, rule)) is not None]
    if files and len(ends) == len(files) and today > max(ends, key=_period)[0]:
        # The last period to run out is the one the erasure rests on.
        last, rule = max(ends, key=_period)
        return [Expiry(case.case_id, case.controller, rule, last)]
    due: list[Expiry] = []
    for rule in rules:
        category = rule.category.erases
        ends_on = _until(case, rule)
        if category is None or ends_on is None or today <= ends_on:
            continue
        erased = case.erased_after(category)
        if erased is None or erased < ends_on:
            due.append(Expiry(case.case_id, case.controller, rule, ends_on))
    return due


def _period(end: tuple[date, RetentionRule]) -> tuple[date, str]:
    return end[0], end[1].id


def expired(cases: list[CaseDates], schedule: RetentionSchedule, today: date) -> list[Expiry]:
    """Everything due for erasure on ``today``, the longest overdue first."""
    found = [e for case in cases for e in expiries(case, schedule, today)]
    return sorted(found, key=lambda e: (e.kept_until, str(e.case_id), e.rule.id))
