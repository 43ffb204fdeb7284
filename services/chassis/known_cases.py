"""The cases a service other than intake has heard of, and who is responsible for each: a
small table in the service's own database, kept by a reaction to intake's topic.

Language, recognition and placement authorise commands against it (the responsible agency,
the Ausländerbehörde of the case's town) and refuse a case they never heard of (404). A row
per case, updated in place, costs one upsert per registration, hand-over, residence
assignment and erasure, and no event in the service's own stream (issue #16's copy events).

It is eventually consistent: a command sent right after the registration may reach the
service before its reaction read the registration, and is refused with 404 until then
(``case.unknown``); a client retries (the web and the e2e harness wait for it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol, TypeVar
from uuid import UUID

import asyncpg
from pydantic import BaseModel

from contracts.common import Site
from contracts.envelope import Agency, Envelope
from contracts.intake import TOPIC as INTAKE_TOPIC
from contracts.intake import (
    HandOverAccepted,
    IntakeEnvelope,
    PersonErased,
    PersonRegistered,
    WohnsitzauflageImposed,
    intake_codec,
)
from services.chassis.authorization import Acting, KnownCase
from services.chassis.commands import EventStore, decide_and_append
from services.chassis.eventstore import AppendResult, CommandContext
from services.chassis.reactions import Reaction
from services.chassis.service import WriteSide

Payload = TypeVar("Payload", bound=BaseModel)
Command = TypeVar("Command", bound=BaseModel)
State = TypeVar("State")

# A registered person starts in SGB III (asylum procedure): the Agentur is responsible until
# a hand-over (intake's evolve holds the same rule; the hand-over events carry the changes).
RESPONSIBLE_AT_REGISTRATION = Agency.AA_MG


class PostgresKnownCases:
    """The known-cases table of one service's database."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def find(self, case_id: UUID) -> KnownCase | None:
        row = await self._pool.fetchrow(
            "SELECT responsible, site, erased FROM known_cases WHERE case_id = $1", case_id
        )
        if row is None:
            return None
        return KnownCase(Agency(row["responsible"]), Site(row["site"]), erased=row["erased"])

    async def note(self, envelope: Envelope[Any]) -> None:
        """What an intake event changes about the case, if anything (idempotent)."""
        version = envelope.stream_version
        match envelope.data:
            case PersonRegistered(site=site):
                await self._pool.execute(
                    "INSERT INTO known_cases (case_id, responsible, site, intake_version)"
                    " VALUES ($1, $2, $3, $4) ON CONFLICT (case_id) DO NOTHING",
                    envelope.case_id,
                    RESPONSIBLE_AT_REGISTRATION.value,
                    site.value,
                    version,
                )
            case HandOverAccepted(to_agency=to_agency, new_site=new_site):
                await self._update(
                    envelope.case_id, version, to_agency.value, new_site.value if new_site else None
                )
            case WohnsitzauflageImposed(site=site):
                await self._update(envelope.case_id, version, None, site.value)
            case PersonErased():
                await self._pool.execute(
                    "UPDATE known_cases SET erased = true, intake_version = $2"
                    " WHERE case_id = $1 AND intake_version < $2",
                    envelope.case_id,
                    version,
                )

    async def _update(
        self, case_id: UUID, version: int, responsible: str | None, site: str | None
    ) -> None:
        await self._pool.execute(
            "UPDATE known_cases SET responsible = coalesce($3, responsible),"
            " site = coalesce($4, site), intake_version = $2"
            " WHERE case_id = $1 AND intake_version < $2",
            case_id,
            version,
            responsible,
            site,
        )


def known_cases_reaction(service: str) -> Reaction[WriteSide[Any]]:
    """The reaction that keeps ``service``'s known-cases table (its own consumer group, so
    a new service reads intake's topic from the start and knows every case)."""

    async def note(envelope: Envelope[Any], write_side: WriteSide[Any]) -> None:
        await PostgresKnownCases(write_side.pool).note(envelope)

    return Reaction[WriteSide[Any]](
        name=f"{service}.known-cases",
        topic=INTAKE_TOPIC,
        codec=intake_codec,
        envelope=IntakeEnvelope,
        description="The cases intake registered, who is responsible for each and where: "
        "what this service's commands are authorised against.",
        handle=note,
    )


class KnownCases(Protocol):
    """The port: what the service knows of a case (``PostgresKnownCases`` in a deployment)."""

    async def find(self, case_id: UUID) -> KnownCase | None: ...


async def decide_on_known_case(
    store: EventStore[Payload],
    cases: KnownCases | None,
    case_id: UUID,
    command: Command,
    context: CommandContext,
    *,
    decide: Callable[[State | None, Command], Sequence[Payload]],
    fold: Callable[[UUID, Iterable[Payload]], State | None],
    permit: Callable[[KnownCase | None, Command, Acting], None],
) -> AppendResult:
    """The handler of a service that learns its cases from intake: a signed-in person's
    command meets ``permit`` (404 for an unknown case, 403 naming the rule) before the
    decider; the service's own reactions (no actor) decide on the state alone."""
    if context.actor is None:
        return await decide_and_append(store, case_id, command, context, decide=decide, fold=fold)
    if cases is None:
        raise RuntimeError("a command of a signed-in person needs the known cases")
    case = await cases.find(case_id)
    acting = Acting(context.agency, context.actor.role)

    def permitted(state: State | None, command: Command) -> Sequence[Payload]:
        # Inside the decider: after the idempotency check, so a replay answers as before.
        permit(case, command, acting)
        return decide(state, command)

    return await decide_and_append(store, case_id, command, context, decide=permitted, fold=fold)
