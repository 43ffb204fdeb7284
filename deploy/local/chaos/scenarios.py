"""Realistic cases over HTTP, as case workers would record them, under crashes.

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


class Desk:
    """A case worker's desk: the four services' HTTP APIs, and their stores for what a case
    worker reads off the screen (a hand-over's id, whether placement knows the residence)."""

    def __init__(self, urls: dict[str, str], stores: dict[str, asyncpg.Pool], tally: Tally) -> None:
        self._urls = urls
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
        headers = {"Idempotency-Key": key, "X-Agency": agency}
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
            if response is not None and response.status_code < 500:
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

    async def steps(
        self, service: str, base: str, steps: list[tuple[str, dict[str, Any]]], **common: str
    ) -> None:
        """One command after the other on the case at ``base``, each with ``common`` fields."""
        for path, body in steps:
            await self.command(service, f"{base}/{path}", {**common, **body})

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


def new_id() -> str:
    return str(uuid4())


async def gestattung(desk: Desk, base: str, since: str, agency: str = "AA-MG") -> None:
    """BAMF file number and the Aufenthaltsgestattung: what a hand-over package needs."""
    await desk.command(
        "intake",
        f"{base}/identifiers",
        {"kind": "bamf_file_number", "value": "7012345-423"},
        agency,
    )
    await desk.command(
        "intake",
        f"{base}/residence-status",
        {"status": "aufenthaltsgestattung", "valid_from": since, "stay_since": since},
        agency,
    )


async def engineer_to_skilled_job(desk: Desk, rng: random.Random) -> None:
    """MG: consent for AA-MG, JC-MG and IQ; Integrationskurs to B1; ZAB statement and the
    protected title; refugee status, SGB II, hand-over to JC-MG; a skilled job."""
    case = await desk.register(rng, "MG", "Mönchengladbach", languages=["ar", "en"])
    if case is None:
        return
    base = f"/cases/{case}"
    await desk.command(
        "intake",
        f"{base}/first-contact",
        {"contacted_on": "2016-02-09", "interpreter_language": "ar"},
    )
    await desk.command(
        "intake",
        f"{base}/consents",
        {
            "consent_id": new_id(),
            "purposes": ["counselling", "recognition", "hand_over", "language_courses"],
            "recipients": [
                {"agency": "AA-MG"},
                {"agency": "JC-MG"},
                {"partner": "iq_counselling", "named_person": "Frau Berger (IQ)"},
            ],
            "data_categories": ["identity", "profile", "language", "recognition"],
            "notice_version": "2016-01",
            "notice_language": "ar",
            "method": "written",
            "given_on": "2016-02-09",
        },
    )
    await gestattung(desk, base, "2016-01-15")
    course, enrolment = new_id(), new_id()
    await desk.steps("language", base, [
        ("entitlements", {"entitlement_id": course, "course_type": "integrationskurs",
                          "kind": "berechtigung", "issuer": "bamf", "issued_on": "2016-02-15"}),
        ("enrolments", {"enrolment_id": enrolment, "entitlement_id": course,
                        "provider": "VHS Mönchengladbach", "course_number": "IK-MG-2016-07",
                        "modules": ["Sprachkurs", "Orientierungskurs"],
                        "started_on": "2016-03-01"}),
        ("exams", {"enrolment_id": enrolment, "exam": "dtz", "result": "B1",
                   "taken_on": "2016-08-20"}),
        ("enrolments/end", {"enrolment_id": enrolment, "outcome": "completed",
                            "ended_on": "2016-08-31"}),
    ])  # fmt: skip
    procedure = new_id()
    await desk.steps("recognition", base, [
        ("counselling", {"qualification_kind": "hochschulabschluss",
                         "qualification_title": "Bachelor Bauingenieurwesen", "country": "SYR",
                         "counselled_by": "iq_beratung", "held_on": "2016-03-10"}),
        ("competent-authority", {"authority": "zab"}),
        ("application", {"submitted_on": "2016-03-15"}),
        ("zab-statement", {"comparable_to": "Bachelor Bauingenieurwesen",
                           "issued_on": "2016-05-20"}),
        ("protected-title", {"title": "ingenieur", "authority": "bezirksregierung_duesseldorf",
                             "granted_on": "2016-06-15"}),
    ], procedure_id=procedure)  # fmt: skip
    await desk.command(
        "intake", f"{base}/asylum-decision",
        {"outcome": "fluechtlingseigenschaft", "decided_on": "2016-06-01"},
    )  # fmt: skip
    await desk.command(
        "intake", f"{base}/residence-status",
        {"status": "aufenthaltserlaubnis_25_2_gfk", "valid_from": "2016-06-10",
         "valid_until": "2019-06-09", "stay_since": "2016-01-15"},
        "STADT-MG",
    )  # fmt: skip
    await desk.command("intake", f"{base}/sgb2-application", {"applied_on": "2016-09-10"})
    handover = await desk.pending_hand_over(case)
    if handover is not None:
        await desk.command(
            "intake", f"{base}/hand-overs/acceptance",
            {"handover_id": handover, "accepted_on": "2016-09-15"}, "JC-MG",
        )  # fmt: skip
    await desk.until_stored("placement", case, "placement.residence_facts_noted")
    await desk.command(
        "placement", f"{base}/placements",
        {"placement_id": new_id(), "kind": "beschaeftigung", "skill_level": "fachkraft",
         "employer": "Ingenieurbüro Schmitz, Mönchengladbach", "kldb": "31104",
         "started_on": "2017-03-01"},
        "JC-MG",
    )  # fmt: skip


async def electrician_under_the_2016_rules(desk: Desk, rng: random.Random) -> None:
    """Grevenbroich: a helper job with BA consent; HWK partial recognition, adaptation in
    the job, full recognition."""
    case = await desk.register(rng, "GV", "Grevenbroich", languages=["ar", "ku"])
    if case is None:
        return
    base = f"/cases/{case}"
    await gestattung(desk, base, "2016-04-01")
    await desk.until_stored("placement", case, "placement.residence_facts_noted")
    request = new_id()
    await desk.steps("placement", base, [
        ("work-permission-requests", {"request_id": request,
                                      "employer": "Elektro Hansen GmbH, Grevenbroich",
                                      "job_description": "Helfer Elektroinstallation",
                                      "job_type": "helfer", "start_date": "2016-09-15",
                                      "requested_on": "2016-09-01"}),
        ("ba-consent-decisions", {"request_id": request, "granted": True,
                                  "decided_on": "2016-09-05"}),
        ("permission-decisions", {"request_id": request, "granted": True,
                                  "valid_until": "2017-09-04", "decided_on": "2016-09-08"}),
        ("placements", {"placement_id": new_id(), "kind": "beschaeftigung",
                        "skill_level": "helfer", "employer": "Elektro Hansen GmbH, Grevenbroich",
                        "started_on": "2016-09-15", "work_permission_request_id": request}),
    ])  # fmt: skip
    procedure, adaptation = new_id(), new_id()
    await desk.steps("recognition", base, [
        ("counselling", {"qualification_kind": "berufsabschluss",
                         "qualification_title": "Elektriker", "country": "IRQ",
                         "counselled_by": "iq_beratung", "held_on": "2016-09-20"}),
        ("reference-occupation", {"kldb": "26212", "title": "Elektroniker/in",
                                  "regulated": False, "bereich": "handwerk"}),
        ("competent-authority", {"authority": "hwk_duesseldorf"}),
        ("application", {"submitted_on": "2016-09-30"}),
        ("decision", {"outcome": "teilweise_gleichwertigkeit",
                      "missing_competences": ["VDE-Vorschriften"], "legal_basis": "bqfg",
                      "decided_on": "2016-12-15"}),
        ("adaptation-start", {"measure_id": adaptation, "provider": "Elektro Hansen GmbH",
                              "started_on": "2017-01-09"}),
        ("adaptation-completion", {"measure_id": adaptation, "completed_on": "2017-06-30"}),
        ("decision", {"outcome": "volle_gleichwertigkeit", "legal_basis": "bqfg",
                      "decided_on": "2017-07-20"}),
    ], procedure_id=procedure)  # fmt: skip


async def young_person_via_the_jugendberufsagentur(desk: Desk, rng: random.Random) -> None:
    """Neuss, 19: consent for AA-MG and the Jugendberufsagentur; PerjuF, then EQ and an
    apprenticeship with Assistierte Ausbildung."""
    case = await desk.register(
        rng, "NE", "Neuss", languages=["ti"], date_of_birth="1997-01-10", nationality="ERI"
    )
    if case is None:
        return
    base = f"/cases/{case}"
    await desk.command(
        "intake",
        f"{base}/consents",
        {
            "consent_id": new_id(),
            "purposes": ["counselling", "placement"],
            "recipients": [{"agency": "AA-MG"}, {"partner": "jugendberufsagentur"}],
            "data_categories": ["identity", "profile", "placement"],
            "notice_version": "2016-01",
            "notice_language": "ti",
            "method": "written",
            "given_on": "2016-03-08",
        },
    )
    await gestattung(desk, base, "2016-02-20")
    handover = new_id()
    await desk.command(
        "intake", f"{base}/hand-overs",
        {"handover_id": handover, "to_agency": "AA-MG",
         "reason": "under_25_jugendberufsagentur", "requested_on": "2016-03-10"},
    )  # fmt: skip
    await desk.command(
        "intake", f"{base}/hand-overs/acceptance",
        {"handover_id": handover, "accepted_on": "2016-03-11"},
    )  # fmt: skip
    await desk.until_stored("placement", case, "placement.residence_facts_noted")
    perjuf = new_id()
    await desk.command(
        "placement", f"{base}/measures",
        {"measure_id": perjuf, "kind": "perjuf", "provider": "Bildungswerk Neuss",
         "started_on": "2016-06-01"},
    )  # fmt: skip
    await desk.command(
        "placement", f"{base}/measure-ends",
        {"measure_id": perjuf, "ended_on": "2016-09-30", "outcome": "completed"},
    )  # fmt: skip
    for job_type, kind, start in (
        ("einstiegsqualifizierung", "einstiegsqualifizierung", "2016-10-01"),
        ("berufsausbildung", "ausbildung", "2017-08-01"),
    ):
        request = new_id()
        await desk.command(
            "placement", f"{base}/work-permission-requests",
            {"request_id": request, "employer": "Autohaus Kaarst GmbH",
             "job_description": "Kfz-Mechatroniker", "job_type": job_type, "start_date": start,
             "requested_on": "2016-09-01" if start < "2017" else "2017-06-01"},
        )  # fmt: skip
        await desk.command(
            "placement", f"{base}/permission-decisions",
            {"request_id": request, "granted": True, "valid_until": "2020-07-31",
             "decided_on": "2016-09-20" if start < "2017" else "2017-06-20"},
        )  # fmt: skip
        await desk.command(
            "placement", f"{base}/placements",
            {"placement_id": new_id(), "kind": kind, "employer": "Autohaus Kaarst GmbH",
             "kldb": "25212", "started_on": start, "with_assistierte_ausbildung": True,
             "work_permission_request_id": request},
        )  # fmt: skip


async def move_from_grevenbroich_to_moenchengladbach(desk: Desk, rng: random.Random) -> None:
    """JC-RKN takes the case over after subsidiary protection, a residence assignment to
    Mönchengladbach follows, and JC-RKN hands over to JC-MG."""
    case = await desk.register(rng, "GV", "Jüchen")
    if case is None:
        return
    base = f"/cases/{case}"
    await gestattung(desk, base, "2016-01-05")
    await desk.command(
        "intake", f"{base}/asylum-decision",
        {"outcome": "subsidiaerer_schutz", "decided_on": "2016-05-02"},
    )  # fmt: skip
    await desk.command("intake", f"{base}/sgb2-application", {"applied_on": "2016-05-20"})
    to_rkn = await desk.pending_hand_over(case)
    if to_rkn is None:
        return
    await desk.command(
        "intake", f"{base}/hand-overs/acceptance",
        {"handover_id": to_rkn, "accepted_on": "2016-05-25"}, "JC-RKN",
    )  # fmt: skip
    await desk.command(
        "intake", f"{base}/wohnsitzauflage",
        {"town": "Mönchengladbach", "effective_from": "2016-10-01"}, "RKN",
    )  # fmt: skip
    move = new_id()
    await desk.command(
        "intake", f"{base}/hand-overs",
        {"handover_id": move, "to_agency": "JC-MG", "reason": "move_between_jobcenters",
         "requested_on": "2016-10-05"},
        "JC-RKN",
    )  # fmt: skip
    await desk.command(
        "intake", f"{base}/hand-overs/acceptance",
        {"handover_id": move, "accepted_on": "2016-10-10"}, "JC-MG",
    )  # fmt: skip
    await desk.command(
        "intake", f"{base}/contacts", {"contacted_on": "2016-10-12", "channel": "phone"}, "JC-MG"
    )


SCENARIOS: tuple[Scenario, ...] = (
    engineer_to_skilled_job,
    electrician_under_the_2016_rules,
    young_person_via_the_jugendberufsagentur,
    move_from_grevenbroich_to_moenchengladbach,
)
