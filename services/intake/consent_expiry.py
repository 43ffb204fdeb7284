"""Consent expiry by itself: a consent whose last day (``valid_until``) has passed is
recorded as expired (``intake.consent_expired``) without anyone asking, so every view
re-judges the case and each partner feed deletes the consent's keys and sends its
``consent_ended`` notice.

A small periodic task in the intake process (``IP_INTAKE_CONSENT_EXPIRY_SECONDS``, 0: off;
the first pass at start). Which consents lapse is the pure rule ``consent.lapsed``; the day
comes from the caller (``expire_lapsed(..., today)``), and the process reads it from the
chassis clock (``services.chassis.clock``, a German day). Each expiry is the
``ExpireConsent`` command on behalf of the responsible agency with an idempotency key per
consent: several intake processes, or a repeated run, record it once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import suppress
from datetime import date
from uuid import UUID

import structlog

from contracts.intake import IntakeEvent
from services.chassis import clock as chassis_clock
from services.chassis.eventstore import CommandContext
from services.chassis.ids import uuid7
from services.chassis.rules import InvalidTransitionError
from services.chassis.service import Background, WriteSide
from services.intake.consent import lapsed
from services.intake.domain import fold
from services.intake.handlers import IntakePorts, handle

log = structlog.get_logger("intake.consent_expiry")

# Cases with a consent whose valid_until has passed and that no withdrawal, expiry or erasure
# ended yet (valid_until is no personal field: it is stored in the clear). Only a pre-filter:
# the pure rule decides on the folded case.
_CANDIDATES = """
SELECT DISTINCT given.stream_id
FROM events given
WHERE given.type = 'intake.consent_given'
  AND (given.body->'data'->>'valid_until')::date < $1
  AND NOT EXISTS (
    SELECT 1 FROM events ended
    WHERE ended.stream_id = given.stream_id
      AND (ended.type = 'intake.person_erased'
           OR (ended.type IN ('intake.consent_withdrawn', 'intake.consent_expired')
               AND ended.body->'data'->>'consent_id' = given.body->'data'->>'consent_id'))
  )
ORDER BY given.stream_id
"""


Ports = Callable[[WriteSide[IntakeEvent]], IntakePorts]


async def expire_lapsed(
    write_side: WriteSide[IntakeEvent], ports: IntakePorts, today: date, *, apply: bool = True
) -> list[tuple[UUID, UUID]]:
    """Record every consent lapsed by ``today`` as expired; returns (case, consent) of each
    (with ``apply`` False only lists them)."""
    done: list[tuple[UUID, UUID]] = []
    for row in await write_side.pool.fetch(_CANDIDATES, today):
        case_id: UUID = row["stream_id"]
        case = fold(case_id, (e.data for e in await write_side.store.load(case_id)))
        if case is None:  # pragma: no cover - a consent is never a stream's first event
            continue
        for command in lapsed(case, today):
            if apply:
                context = CommandContext(
                    idempotency_key=f"consent-expiry:{case_id}:{command.consent_id}",
                    agency=case.responsible,
                    correlation_id=uuid7(),
                )
                try:
                    await handle(case_id, command, context, ports)
                except InvalidTransitionError as refused:  # changed since the scan
                    log.info("consent.expiry_refused", case_id=str(case_id), rule=refused.rule)
                    continue
                log.info(
                    "consent.expired",
                    case_id=str(case_id),
                    consent_id=str(command.consent_id),
                    expired_on=str(command.expired_on),
                )
            done.append((case_id, command.consent_id))
    return done


def every(
    seconds: float, ports: Ports, clock: Callable[[], date] = chassis_clock.today
) -> Background:
    """The periodic task for the intake process: a pass every ``seconds`` (the first at
    start) on the German day ``clock`` tells, until the process stops."""

    async def run(write_side: WriteSide[IntakeEvent], stop: asyncio.Event) -> None:
        wired = ports(write_side)
        while not stop.is_set():
            try:
                await expire_lapsed(write_side, wired, clock())
            except Exception:  # one failed pass must not end the task: the next tries again
                log.exception("consent.expiry_pass_failed")
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=seconds)

    return run
