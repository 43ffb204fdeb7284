"""Demo data for ``make run``: two dozen persons at the three sites, at every stage.

Issued through the services' HTTP APIs like any case worker's command, never written into a
database. Every command carries an idempotency key made from the person and the step, so a
second ``make run`` replays them (the services answer with what they stored the first time)
and adds nothing. Dates count back from the day of the first seeding, so the caseload has
first contacts in time, first contacts overdue (no contact more than 14 days after the
allocation) and cases a Jobcenter took over (SGB II).

    python -m deploy.local.demo [--intake-url ...]   # seeds a running platform
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import IntEnum
from typing import Any, Final

import httpx

from contracts.common import JOBCENTER_BY_SITE, Site, site_of_town
from deploy.local.demo_users import DemoSigner
from services.chassis import clock
from services.chassis.token import DEFAULT_ISSUER
from services.intake.handover import rechtskreiswechsel_id

# Bump to seed a second, independent set of persons; the same value never duplicates.
GENERATION: Final = "demo-1"
_IDS: Final = uuid.UUID("3b0c8f1e-4d52-5a61-9e0f-7a1b2c3d4e5f")
# Placement learns residence facts from intake's topic: its commands wait for them.
WAITING_RULES: Final = frozenset({"case.not_known", "case.needs_residence_facts"})
Signer = Callable[[str], dict[str, str]]  # an agency -> its demo user's Authorization
# A service that has not yet read the registration from intake's topic (eventual consistency).
NOT_YET_KNOWN: Final = "case.unknown"


class Stage(IntEnum):
    """How far a demo person's case has come."""

    REGISTERED = 0  # allocated, no first contact yet
    CONTACTED = 1
    LANGUAGE = 2  # residence document, BAMF number, placement test, Integrationskurs
    RECOGNITION = 3  # and a consent for IQ, recognition counselling and a measure
    JOBCENTER = 4  # protection granted, SGB II applied for, the Jobcenter took over


@dataclass(frozen=True)
class DemoPerson:
    given_name: str
    family_name: str
    date_of_birth: str
    nationality: str
    languages: tuple[str, ...]
    town: str
    allocated_days_ago: int
    contact_after_days: int | None
    stage: Stage


# The first demo person's registration with a fixed date, as intake's API takes it: the example
# command `make run` prints, and the person the bench and the API tests register.
EXAMPLE_REGISTRATION: Final[Mapping[str, Any]] = {
    "given_name": "Amina",
    "family_name": "Haddad",
    "date_of_birth": "1989-03-14",
    "nationality": "SYR",
    "languages": ["ar"],
    "site": "MG",
    "town": "Mönchengladbach",
    "allocated_on": "2016-02-01",
}

P, S, MG = DemoPerson, Stage, "Mönchengladbach"
PERSONS: Final = (
    P("Amina", "Haddad", "1989-03-14", "SYR", ("ar",), MG, 40, 6, S.RECOGNITION),
    P("Yonas", "Tesfaye", "1996-07-02", "ERI", ("ti",), MG, 35, 9, S.LANGUAGE),
    P("Hussein", "Al-Ali", "1985-11-20", "IRQ", ("ar", "ku"), MG, 60, 5, S.JOBCENTER),
    P("Rahel", "Gebremedhin", "1999-01-15", "ERI", ("ti",), MG, 20, None, S.REGISTERED),
    P("Omar", "Nasser", "1991-05-05", "SYR", ("ar",), MG, 18, None, S.REGISTERED),
    P("Dilan", "Hassan", "1994-09-09", "SYR", ("ku", "ar"), MG, 10, None, S.REGISTERED),
    P("Farid", "Karimi", "1988-02-28", "IRN", ("fa",), MG, 45, 12, S.RECOGNITION),
    P("Mariam", "Youssef", "1993-12-01", "SYR", ("ar",), MG, 70, 8, S.JOBCENTER),
    P("Samir", "Haidari", "2000-04-10", "IRQ", ("ar",), MG, 25, 3, S.CONTACTED),
    P("Layla", "Mahmoud", "1987-06-17", "SYR", ("ar",), MG, 30, 13, S.LANGUAGE),
    P("Abdi", "Warsame", "1998-03-03", "SOM", ("so",), MG, 16, None, S.REGISTERED),
    P("Negasi", "Berhane", "1990-08-08", "ERI", ("ti",), MG, 50, 7, S.LANGUAGE),
    P("Khaled", "Saleh", "1986-01-21", "SYR", ("ar",), "Neuss", 55, 4, S.JOBCENTER),
    P("Ahmad", "Rezaei", "1995-10-11", "IRN", ("fa",), "Kaarst", 28, 10, S.LANGUAGE),
    P("Zainab", "Jafari", "1997-05-30", "IRQ", ("ar",), "Dormagen", 19, None, S.REGISTERED),
    P("Tesfay", "Kidane", "1992-02-14", "ERI", ("ti",), "Neuss", 33, 6, S.RECOGNITION),
    P("Nour", "Al-Hassan", "1990-07-07", "SYR", ("ar",), "Meerbusch", 8, None, S.REGISTERED),
    P("Yasmin", "Darwish", "2001-09-19", "SYR", ("ar",), "Korschenbroich", 40, 11, S.CONTACTED),
    P("Bilal", "Othman", "1984-12-12", "SYR", ("ar",), "Neuss", 65, 9, S.JOBCENTER),
    P("Reza", "Ahmadi", "1993-03-23", "IRN", ("fa",), "Grevenbroich", 37, 5, S.RECOGNITION),
    P("Selam", "Tekle", "1998-11-11", "ERI", ("ti",), "Jüchen", 22, None, S.REGISTERED),
    P("Mohammed", "Al-Khatib", "1989-04-04", "SYR", ("ar",), "Grevenbroich", 42, 7, S.JOBCENTER),
    P("Hawa", "Mohamed", "1996-06-06", "SOM", ("so",), "Rommerskirchen", 12, None, S.REGISTERED),
    P("Ali", "Hosseini", "1994-01-01", "IRQ", ("ar",), "Grevenbroich", 26, 14, S.LANGUAGE),
)  # fmt: skip


@dataclass(frozen=True)
class Step:
    service: str
    path: str  # below /cases/{case_id}
    body: dict[str, Any]
    agency: str = "AA-MG"


def _id(person: DemoPerson, what: str) -> str:
    return str(uuid.uuid5(_IDS, f"{GENERATION}:{person.family_name}:{person.given_name}:{what}"))


def _site(person: DemoPerson) -> Site:
    site = site_of_town(person.town)
    assert site is not None, person.town
    return site


def registration(person: DemoPerson, today: date) -> dict[str, Any]:
    return {
        "given_name": person.given_name,
        "family_name": person.family_name,
        "date_of_birth": person.date_of_birth,
        "nationality": person.nationality,
        "languages": list(person.languages),
        "site": _site(person).value,
        "town": person.town,
        "allocated_on": (today - timedelta(days=person.allocated_days_ago)).isoformat(),
    }


def steps(person: DemoPerson, case_id: uuid.UUID, today: date) -> list[Step]:
    """The commands after the registration, in the order a case worker would record them."""
    allocated = today - timedelta(days=person.allocated_days_ago)

    def day(after: int) -> str:
        return min(allocated + timedelta(days=after), today).isoformat()

    if person.contact_after_days is None:
        return []
    contact = person.contact_after_days
    language = person.languages[0] if person.languages else None
    result = [
        Step(
            "intake",
            "first-contact",
            {"contacted_on": day(contact), "interpreter_language": language},
        )
    ]
    if person.stage >= Stage.LANGUAGE:
        result += [
            Step(
                "intake",
                "identifiers",
                {"kind": "bamf_file_number", "value": f"{case_id.int % 10**7:07d}-423"},
            ),
            Step(
                "intake",
                "residence-status",
                {
                    "status": "aufenthaltsgestattung",
                    "valid_from": allocated.isoformat(),
                    "stay_since": (allocated - timedelta(days=30)).isoformat(),
                },
            ),
            Step(
                "language",
                "placement-tests",
                {
                    "level": "A1" if person.stage < Stage.JOBCENTER else "A2",
                    "taken_on": day(contact + 3),
                },
            ),
        ]
    if Stage.LANGUAGE <= person.stage < Stage.JOBCENTER:
        result.append(
            Step(
                "language",
                "entitlements",
                {
                    "entitlement_id": _id(person, "integrationskurs"),
                    "course_type": "integrationskurs",
                    "kind": "berechtigung",
                    "issuer": "bamf",
                    "issued_on": day(contact + 5),
                },
            )
        )
    if person.stage == Stage.RECOGNITION:
        result += [
            # So that a partner added at `make run` (README, "Network partners") receives
            # something: IQ may counsel on recognition with the person's recognition and
            # profile data.
            Step(
                "intake",
                "consents",
                {
                    "consent_id": _id(person, "einwilligung-iq"),
                    "purposes": ["recognition"],
                    "recipients": [{"partner": "iq_counselling"}],
                    "data_categories": ["recognition", "profile"],
                    "notice_version": "2016-01",
                    "notice_language": language or "de",
                    "method": "written",
                    "given_on": day(contact + 6),
                },
            ),
            Step(
                "recognition",
                "counselling",
                {
                    "procedure_id": _id(person, "anerkennung"),
                    "qualification_kind": "berufsabschluss",
                    "qualification_title": "Elektroniker",
                    "country": person.nationality,
                    "counselled_by": "iq_beratung",
                    "held_on": day(contact + 7),
                },
            ),
            Step(
                "placement",
                "measures",
                {
                    "measure_id": _id(person, "kompas"),
                    "kind": "kompas",
                    "provider": "Bildungszentrum Niederrhein",
                    "started_on": day(contact + 10),
                },
            ),
        ]
    if person.stage == Stage.JOBCENTER:
        applied = allocated + timedelta(days=25)
        jobcenter = JOBCENTER_BY_SITE[_site(person)].value
        result += [
            Step(
                "intake",
                "asylum-decision",
                {"outcome": "fluechtlingseigenschaft", "decided_on": day(20)},
            ),
            Step("intake", "sgb2-application", {"applied_on": applied.isoformat()}),
            Step(
                "intake",
                "hand-overs/acceptance",
                {
                    "handover_id": str(rechtskreiswechsel_id(case_id, applied)),
                    "accepted_on": day(28),
                },
                agency=jobcenter,
            ),
        ]
    return result  # fmt: skip


class DemoDataError(Exception):
    """A demo command the platform refused: the demo data no longer fits the rules."""


@dataclass
class Seeded:
    persons: int = 0
    commands: int = 0
    replayed: int = 0


def _post(
    http: httpx.Client,
    url: str,
    body: dict[str, Any],
    *,
    signer: Signer,
    agency: str,
    key: str,
    deadline: float,
) -> dict[str, Any]:
    """One command, signed by the agency's demo user; a refusal because a reaction has not
    arrived yet is tried again."""
    while True:
        headers = {**signer(agency), "Idempotency-Key": key}
        response = http.post(url, json=body, headers=headers)
        if response.status_code == 201:
            answer: dict[str, Any] = response.json()
            return answer
        rule = response.json().get("rule") if response.status_code in {404, 409} else None
        waiting = rule in WAITING_RULES or (response.status_code == 404 and rule == NOT_YET_KNOWN)
        if not waiting or time.monotonic() > deadline:
            raise DemoDataError(f"{url}: {response.status_code} {response.text}")
        time.sleep(0.5)


def seed(urls: Mapping[str, str], today: date, *, signer: Signer, within: float = 180.0) -> Seeded:
    """Register every demo person and record their steps; placement's steps last, once its
    reactions have had time to learn the residence facts."""
    deadline = time.monotonic() + within
    seeded = Seeded()
    later: list[tuple[str, Step, str]] = []
    with httpx.Client(timeout=30.0) as http:

        def send(url: str, step: Step, key: str) -> None:
            answer = _post(
                http,
                url,
                step.body,
                signer=signer,
                agency=step.agency,
                key=key,
                deadline=deadline,
            )
            seeded.commands += 1
            seeded.replayed += bool(answer["replayed"])

        for person in PERSONS:
            slug = f"{GENERATION}:{person.family_name}:{person.given_name}"
            opened = _post(
                http,
                f"{urls['intake']}/cases",
                registration(person, today),
                signer=signer,
                agency="AA-MG",
                key=f"{slug}:register",
                deadline=deadline,
            )
            seeded.persons += 1
            seeded.commands += 1
            seeded.replayed += bool(opened["replayed"])
            case_id = uuid.UUID(opened["case_id"])
            for step in steps(person, case_id, today):
                url = f"{urls[step.service]}/cases/{case_id}/{step.path}"
                if step.service == "placement":
                    later.append((url, step, f"{slug}:{step.path}"))
                else:
                    send(url, step, f"{slug}:{step.path}")
        for url, step, key in later:
            send(url, step, key)
    return seeded


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m deploy.local.demo",
        description="Seed a running platform with the demo persons, through the services' "
        "HTTP APIs. Idempotent: a second run adds nothing.",
    )
    for service, port in (
        ("intake", 8001),
        ("language", 8002),
        ("recognition", 8003),
        ("placement", 8004),
    ):
        parser.add_argument(f"--{service}-url", default=f"http://127.0.0.1:{port}")
    parser.add_argument(
        "--token-url",
        default=f"{DEFAULT_ISSUER}/protocol/openid-connect/token",
        help="the provider's token endpoint (make run's Keycloak)",
    )
    args = parser.parse_args(argv)
    urls = {
        s: getattr(args, f"{s}_url") for s in ("intake", "language", "recognition", "placement")
    }
    try:
        signer = DemoSigner(args.token_url)
        seeded = seed(urls, clock.today(), signer=signer)  # Germany's day: later is refused
    except (DemoDataError, httpx.HTTPError) as error:
        print(f"demo data refused: {error}", file=sys.stderr)
        return 1
    print(describe(seeded))
    return 0


def describe(seeded: Seeded) -> str:
    new = seeded.commands - seeded.replayed
    return (
        f"demo data: {seeded.persons} persons, {seeded.commands} commands "
        f"({new} new, {seeded.replayed} already recorded)"
    )


if __name__ == "__main__":
    sys.exit(main())
