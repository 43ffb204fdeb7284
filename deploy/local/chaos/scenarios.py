"""Realistic cases over HTTP, as case workers would record them, under crashes.

The cases' steps are deploy/local/scenario_steps.py, shared with the end-to-end tests.

Each command carries its own ``Idempotency-Key`` and is sent again with the same key while
its service is down or restarting, so an acknowledged command is recorded exactly once.
A refusal (409/422) is an answer too: it stores nothing and the case goes on.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx

from deploy.local import scenario_steps as steps

RETRY_FOR = 300.0  # seconds a command is sent again while its service is away
REACTION_WAIT = 60.0  # seconds a desk waits for another service's reaction to show
Scenario = Callable[["Desk", random.Random], Awaitable[None]]


@dataclass
class Tally:
    """What the desks sent and what the platform answered."""

    acknowledged: dict[str, list[str]] = field(default_factory=dict)  # service -> keys
    refused: int = 0
    refusals: dict[str, int] = field(default_factory=dict)  # "409 POST /cases/{id}/x" -> count
    resent: int = 0
    given_up: int = 0
    cases: int = 0

    @property
    def commands(self) -> int:
        return sum(len(keys) for keys in self.acknowledged.values())


def _not_yet_known(response: httpx.Response) -> bool:
    """The service has not read the registration yet (404), or not the hand-over that made
    the acting agency responsible (403): both settle once its reactions catch up."""
    return response.status_code in {403, 404} and response.json().get("rule") in {
        "case.unknown",
        *RESPONSIBILITY_RULES,
    }


# The rules that refuse an agency not (yet) known as responsible in a service other than intake.
RESPONSIBILITY_RULES = frozenset(
    {
        "language.responsible_agency_records_the_course",
        "language.entitlement_by_its_issuer",
        "recognition.responsible_agency_records",
        "placement.responsible_agency_places",
    }
)


class Desk:
    """A case worker's desk: the four services' HTTP APIs, and their stores for what a case
    worker reads off the screen (a hand-over's id, whether placement knows the residence)."""

    def __init__(
        self,
        urls: dict[str, str],
        stores: dict[str, asyncpg.Pool],
        tally: Tally,
        signer: Callable[[str], dict[str, str]],
    ) -> None:
        self._urls = urls
        self._signer = signer  # an agency -> its demo user's Authorization
        self._stores = stores
        self.tally = tally
        self._http = httpx.AsyncClient(timeout=30.0)

    async def close(self) -> None:
        await self._http.aclose()

    async def command(
        self, service: str, path: str, body: dict[str, Any], agency: str = "AA-MG"
    ) -> dict[str, Any] | None:
        """Send until answered; the answer of a 201, None for a refusal."""
        key = f"chaos-{uuid4()}"
        # The token fetch blocks (rarely: tokens are kept while fresh), so off the loop.
        headers = {"Idempotency-Key": key, **await asyncio.to_thread(self._signer, agency)}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + RETRY_FOR
        pause = 0.1
        while True:
            try:
                response = await self._http.post(
                    self._urls[service] + path, json=body, headers=headers
                )
            except httpx.TransportError:
                response = None
            # 404 case.unknown: the service has not yet read the registration (eventual
            # consistency); sent again like a broker outage.
            if response is not None and response.status_code < 500 and not _not_yet_known(response):
                break
            if loop.time() > deadline:
                self.tally.given_up += 1
                return None
            self.tally.resent += 1
            await asyncio.sleep(pause)
            pause = min(pause * 2, 2.0)
        if response.status_code != 201:
            self.tally.refused += 1
            what = f"{response.status_code} {service} {_template(path)}"
            self.tally.refusals[what] = self.tally.refusals.get(what, 0) + 1
            return None
        self.tally.acknowledged.setdefault(service, []).append(key)
        answer: dict[str, Any] = response.json()
        return answer

    async def register(self, rng: random.Random, site: str, town: str, **extra: Any) -> str | None:
        n = rng.randrange(1_000_000)
        answer = await self.command(
            "intake",
            "/cases",
            {
                "given_name": f"Person{n}",
                "family_name": rng.choice(["Haddad", "Al-Khatib", "Tesfaye", "Ibrahim", "Rahimi"]),
                "date_of_birth": f"19{rng.randint(70, 99)}-0{rng.randint(1, 9)}-15",
                "nationality": rng.choice(["SYR", "IRQ", "ERI", "AFG", "IRN"]),
                "site": site,
                "town": town,
                "allocated_on": "2016-02-01",
                **extra,
            },
        )
        if answer is None:
            return None
        self.tally.cases += 1
        return str(answer["case_id"])

    async def pending_hand_over(self, case_id: str) -> str | None:
        """The id of the case's latest requested hand-over, as intake stored it."""
        found = await self._stores["intake"].fetchval(
            "SELECT body->'data'->>'handover_id' FROM events WHERE stream_id = $1"
            " AND type = 'intake.hand_over_requested' ORDER BY version DESC LIMIT 1",
            UUID(case_id),
        )
        return str(found) if found else None

    async def until_stored(self, service: str, case_id: str, event_type: str) -> None:
        """Wait (a bounded while) until a reaction stored ``event_type`` for the case, as a case
        worker waits for the screen to show it; then go on either way."""
        for _ in range(int(REACTION_WAIT / 0.5)):
            if await self._stores[service].fetchval(
                "SELECT count(*) FROM events WHERE stream_id = $1 AND type = $2",
                UUID(case_id),
                event_type,
            ):
                return
            await asyncio.sleep(0.5)


def _template(path: str) -> str:
    parts = path.split("/")
    return "/".join("{id}" if len(part) == 36 else part for part in parts)


async def engineer_to_skilled_job(desk: Desk, rng: random.Random) -> None:
    """MG: consent for AA-MG, JC-MG and IQ; Integrationskurs to B1; ZAB statement and the
    protected title; refugee status, SGB II, hand-over to JC-MG; a skilled job."""
    case = await desk.register(rng, "MG", "Mönchengladbach", languages=["ar", "en"])
    if case is None:
        return
    base = f"/cases/{case}"
    await steps.engineer_first_contact_and_consent(desk, base)
    await steps.gestattung(desk, base, "2016-01-15")
    await steps.integrationskurs_to_b1(desk, base)
    await steps.engineer_recognition(desk, base)
    await steps.refugee_status(desk, base)
    await desk.command("intake", f"{base}/sgb2-application", {"applied_on": "2016-09-10"})
    handover = await desk.pending_hand_over(case)
    if handover is not None:
        await steps.accept_hand_over(desk, base, handover, "2016-09-15", "JC-MG")
    await desk.until_stored("placement", case, "placement.residence_facts_noted")
    await steps.skilled_job(desk, base)


async def electrician_under_the_2016_rules(desk: Desk, rng: random.Random) -> None:
    """Grevenbroich: a helper job with BA consent; HWK partial recognition, adaptation in
    the job, full recognition."""
    case = await desk.register(rng, "GV", "Grevenbroich", languages=["ar", "ku"])
    if case is None:
        return
    base = f"/cases/{case}"
    await steps.gestattung(desk, base, "2016-04-01")
    await desk.until_stored("placement", case, "placement.residence_facts_noted")
    await steps.helper_job_with_ba_consent(desk, base)
    await steps.electrician_recognition(desk, base)


async def young_person_via_the_jugendberufsagentur(desk: Desk, rng: random.Random) -> None:
    """Neuss, 19: consent for AA-MG and the Jugendberufsagentur; PerjuF, then EQ and an
    apprenticeship with Assistierte Ausbildung."""
    case = await desk.register(
        rng, "NE", "Neuss", languages=["ti"], date_of_birth="1997-01-10", nationality="ERI"
    )
    if case is None:
        return
    base = f"/cases/{case}"
    await steps.jugendberufsagentur_consent(desk, base)
    await steps.gestattung(desk, base, "2016-02-20")
    await steps.hand_over_to_the_jugendberufsagentur(desk, base)
    await desk.until_stored("placement", case, "placement.residence_facts_noted")
    await steps.perjuf_then_eq_then_apprenticeship(desk, base)


async def move_from_grevenbroich_to_moenchengladbach(desk: Desk, rng: random.Random) -> None:
    """JC-RKN takes the case over after subsidiary protection, a residence assignment to
    Mönchengladbach follows, and JC-RKN hands over to JC-MG."""
    case = await desk.register(rng, "GV", "Jüchen")
    if case is None:
        return
    base = f"/cases/{case}"
    await steps.gestattung(desk, base, "2016-01-05")
    await steps.subsidiary_protection_and_sgb2(desk, base)
    to_rkn = await desk.pending_hand_over(case)
    if to_rkn is None:
        return
    await steps.accept_hand_over(desk, base, to_rkn, "2016-05-25", "JC-RKN")
    await steps.residence_assignment_to_moenchengladbach(desk, base)
    move = steps.new_id()
    await steps.request_move_to_jc_mg(desk, base, move)
    await steps.accept_hand_over(desk, base, move, "2016-10-10", "JC-MG")
    await desk.command(
        "intake", f"{base}/contacts", {"contacted_on": "2016-10-12", "channel": "phone"}, "JC-MG"
    )


SCENARIOS: tuple[Scenario, ...] = (
    engineer_to_skilled_job,
    electrician_under_the_2016_rules,
    young_person_via_the_jugendberufsagentur,
    move_from_grevenbroich_to_moenchengladbach,
)
