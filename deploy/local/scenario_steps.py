"""The steps of the four realistic scenarios (issue 3), as a case worker records them over HTTP.

One script for both who replay them: the end-to-end tests (tests/e2e/test_scenarios.py), which
check the stores between the steps, and the chaos driver (deploy/local/chaos), which sends them
under crashes and takes a refusal as an answer. Each scenario composes these steps with what
only it does (who the person is, what it waits for, what it asserts).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol
from uuid import uuid4


class CommandDesk(Protocol):
    """Where the commands go: the chaos driver's ``Desk`` or the tests' ``Platform``."""

    async def command(
        self, service: str, path: str, body: dict[str, Any], *, agency: str = "AA-MG"
    ) -> dict[str, Any] | None: ...


def new_id() -> str:
    return str(uuid4())


async def in_turn(
    desk: CommandDesk,
    service: str,
    base: str,
    steps: Sequence[tuple[Any, ...]],  # (path, body) or (path, body, agency)
    **common: str,
) -> None:
    """One command after the other on the case at ``base``, each with ``common`` fields, by
    the Agentur unless a step names its agency."""
    for path, body, *agency in steps:
        await desk.command(
            service, f"{base}/{path}", {**common, **body}, agency=agency[0] if agency else "AA-MG"
        )


async def gestattung(desk: CommandDesk, base: str, since: str) -> None:
    """BAMF file number and the Aufenthaltsgestattung: what every hand-over package needs."""
    await desk.command(
        "intake", f"{base}/identifiers", {"kind": "bamf_file_number", "value": "7012345-423"}
    )
    await desk.command(
        "intake",
        f"{base}/residence-status",
        {"status": "aufenthaltsgestattung", "valid_from": since, "stay_since": since},
    )


async def accept_hand_over(
    desk: CommandDesk, base: str, handover: str, accepted_on: str, agency: str = "AA-MG"
) -> None:
    await desk.command(
        "intake",
        f"{base}/hand-overs/acceptance",
        {"handover_id": handover, "accepted_on": accepted_on},
        agency=agency,
    )


# Scenario 1: the Syrian civil engineer, from allocation in MG to a skilled job.


async def engineer_first_contact_and_consent(desk: CommandDesk, base: str) -> None:
    """First contact on day 8 with an Arabic interpreter; consent naming AA-MG, JC-MG and a
    named IQ adviser."""
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


async def integrationskurs_to_b1(desk: CommandDesk, base: str) -> str:
    """Integrationskurs at the VHS, DTZ B1, completed; the enrolment's id."""
    course, enrolment = new_id(), new_id()
    await in_turn(desk, "language", base, [
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
    return enrolment


async def engineer_recognition(desk: CommandDesk, base: str) -> None:
    """A university degree: the ZAB's statement, then the protected title "Ingenieur"."""
    await in_turn(desk, "recognition", base, [
        ("counselling", {"qualification_kind": "hochschulabschluss",
                         "qualification_title": "Bachelor Bauingenieurwesen (Universität Aleppo)",
                         "country": "SYR", "counselled_by": "iq_beratung",
                         "held_on": "2016-03-10"}),
        ("competent-authority", {"authority": "zab"}),
        ("application", {"submitted_on": "2016-03-15"}),
        ("zab-statement", {"comparable_to": "Bachelor Bauingenieurwesen",
                           "issued_on": "2016-05-20"}),
        ("protected-title", {"title": "ingenieur", "authority": "bezirksregierung_duesseldorf",
                             "granted_on": "2016-06-15"}),
    ], procedure_id=new_id())  # fmt: skip


async def refugee_status(desk: CommandDesk, base: str) -> None:
    """BAMF grants refugee status; the Ausländerbehörde issues the residence permit."""
    await desk.command(
        "intake", f"{base}/asylum-decision",
        {"outcome": "fluechtlingseigenschaft", "decided_on": "2016-06-01"},
    )  # fmt: skip
    await desk.command(
        "intake", f"{base}/residence-status",
        {"status": "aufenthaltserlaubnis_25_2_gfk", "valid_from": "2016-06-10",
         "valid_until": "2019-06-09", "stay_since": "2016-01-15"},
        agency="STADT-MG",
    )  # fmt: skip


async def skilled_job(desk: CommandDesk, base: str) -> None:
    """JC-MG records the skilled job the engineer starts."""
    await desk.command(
        "placement", f"{base}/placements",
        {"placement_id": new_id(), "kind": "beschaeftigung", "skill_level": "fachkraft",
         "employer": "Ingenieurbüro Schmitz, Mönchengladbach", "kldb": "31104",
         "started_on": "2017-03-01"},
        agency="JC-MG",
    )  # fmt: skip


# Scenario 2: the Iraqi electrician in Grevenbroich, under the August 2016 rules.


async def helper_job_with_ba_consent(desk: CommandDesk, base: str) -> None:
    """A helper job: the Rhein-Kreis's Ausländerbehörde takes the request, the BA (the
    Agentur) consents, the Ausländerbehörde permits, the Agentur records the job."""
    request = new_id()
    await in_turn(desk, "placement", base, [
        ("work-permission-requests", {"request_id": request,
                                      "employer": "Elektro Hansen GmbH, Grevenbroich",
                                      "job_description": "Helfer Elektroinstallation",
                                      "job_type": "helfer", "start_date": "2016-09-15",
                                      "requested_on": "2016-09-01"}, "RKN"),
        ("ba-consent-decisions", {"request_id": request, "granted": True,
                                  "decided_on": "2016-09-05"}, "AA-MG"),
        ("permission-decisions", {"request_id": request, "granted": True,
                                  "valid_until": "2017-09-04", "decided_on": "2016-09-08"}, "RKN"),
        ("placements", {"placement_id": new_id(), "kind": "beschaeftigung",
                        "skill_level": "helfer", "employer": "Elektro Hansen GmbH, Grevenbroich",
                        "started_on": "2016-09-15", "work_permission_request_id": request},
         "AA-MG"),
    ])  # fmt: skip


async def electrician_recognition(desk: CommandDesk, base: str) -> None:
    """HWK: partial recognition with missing competences, adaptation in the job, full
    recognition."""
    adaptation = new_id()
    await in_turn(desk, "recognition", base, [
        ("counselling", {"qualification_kind": "berufsabschluss",
                         "qualification_title": "Elektriker", "country": "IRQ",
                         "counselled_by": "iq_beratung", "held_on": "2016-09-20"}),
        ("reference-occupation", {"kldb": "26212", "title": "Elektroniker/in",
                                  "regulated": False, "bereich": "handwerk"}),
        ("competent-authority", {"authority": "hwk_duesseldorf"}),
        ("application", {"submitted_on": "2016-09-30"}),
        ("decision", {"outcome": "teilweise_gleichwertigkeit",
                      "missing_competences": ["VDE-Vorschriften", "Gebäudesystemtechnik"],
                      "legal_basis": "bqfg", "decided_on": "2016-12-15"}),
        ("adaptation-start", {"measure_id": adaptation,
                              "provider": "Elektro Hansen GmbH, Grevenbroich",
                              "started_on": "2017-01-09"}),
        ("adaptation-completion", {"measure_id": adaptation, "completed_on": "2017-06-30"}),
        ("decision", {"outcome": "volle_gleichwertigkeit", "legal_basis": "bqfg",
                      "decided_on": "2017-07-20"}),
    ], procedure_id=new_id())  # fmt: skip


# Scenario 3: the young Eritrean in Neuss, on the Jugendberufsagentur route.


async def jugendberufsagentur_consent(desk: CommandDesk, base: str) -> None:
    """He consents himself, for AA-MG and the Jugendberufsagentur."""
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


async def hand_over_to_the_jugendberufsagentur(desk: CommandDesk, base: str) -> None:
    """AA-MG takes him over for the Jugendberufsagentur (under 25)."""
    handover = new_id()
    await desk.command(
        "intake", f"{base}/hand-overs",
        {"handover_id": handover, "to_agency": "AA-MG",
         "reason": "under_25_jugendberufsagentur", "requested_on": "2016-03-10"},
    )  # fmt: skip
    await accept_hand_over(desk, base, handover, "2016-03-11")


async def perjuf_then_eq_then_apprenticeship(desk: CommandDesk, base: str) -> None:
    """PerjuF completed; then an Einstiegsqualifizierung and an apprenticeship, each with its
    work permission and Assistierte Ausbildung."""
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
            agency="RKN",  # the Ausländerbehörde of Neuss
        )  # fmt: skip
        await desk.command(
            "placement", f"{base}/permission-decisions",
            {"request_id": request, "granted": True, "valid_until": "2020-07-31",
             "decided_on": "2016-09-20" if start < "2017" else "2017-06-20"},
            agency="RKN",
        )  # fmt: skip
        await desk.command(
            "placement", f"{base}/placements",
            {"placement_id": new_id(), "kind": kind, "employer": "Autohaus Kaarst GmbH",
             "kldb": "25212", "started_on": start, "with_assistierte_ausbildung": True,
             "work_permission_request_id": request},
        )  # fmt: skip


# Scenario 4: the move from Grevenbroich (JC-RKN) to Mönchengladbach (JC-MG).


async def subsidiary_protection_and_sgb2(desk: CommandDesk, base: str) -> None:
    """Subsidiary protection, then the SGB II application (intake requests the hand-over)."""
    await desk.command(
        "intake", f"{base}/asylum-decision",
        {"outcome": "subsidiaerer_schutz", "decided_on": "2016-05-02"},
    )  # fmt: skip
    await desk.command("intake", f"{base}/sgb2-application", {"applied_on": "2016-05-20"})


async def residence_assignment_to_moenchengladbach(desk: CommandDesk, base: str) -> None:
    await desk.command(
        "intake", f"{base}/wohnsitzauflage",
        {"town": "Mönchengladbach", "effective_from": "2016-10-01"}, agency="RKN",
    )  # fmt: skip


MOVE_TO_JC_MG = {
    "to_agency": "JC-MG",
    "reason": "move_between_jobcenters",
    "requested_on": "2016-10-05",
}


async def request_move_to_jc_mg(desk: CommandDesk, base: str, handover: str) -> None:
    await desk.command(
        "intake", f"{base}/hand-overs", {"handover_id": handover, **MOVE_TO_JC_MG}, agency="JC-RKN"
    )
