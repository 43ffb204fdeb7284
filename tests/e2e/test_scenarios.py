"""The four scenarios of issue 3, over HTTP and the real broker: each service's store and
each topic are inspected after the cross-service reactions have run. Their steps are
deploy/local/scenario_steps.py, which the chaos driver replays under crashes too."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from deploy.local import scenario_steps as steps
from deploy.local.devstack import StackInfo
from deploy.local.scenario_steps import new_id
from tests.e2e.platform import Platform, running_platform

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

INTAKE_TOPIC = "ip.intake.case.v1"
LANGUAGE_TOPIC = "ip.language.path.v1"
RECOGNITION_TOPIC = "ip.recognition.procedure.v1"
PLACEMENT_TOPIC = "ip.placement.case.v1"


@pytest.fixture(scope="module")
async def platform(stack: StackInfo) -> AsyncIterator[Platform]:
    async with running_platform(stack) as running:
        yield running


async def register(platform: Platform, **person: Any) -> str:
    answer = await platform.command("intake", "/cases", person)
    case_id: str = answer["case_id"]
    return case_id


def types_of(stored: list[dict[str, Any]]) -> list[str]:
    return [envelope["type"] for envelope in stored]


def last_of(stored: list[dict[str, Any]], event_type: str) -> dict[str, Any]:
    data: dict[str, Any] = [e for e in stored if e["type"] == event_type][-1]["data"]
    return data


async def test_syrian_civil_engineer_from_allocation_to_a_skilled_job(platform: Platform) -> None:
    """Scenario 1: MG, first contact on day 8 with an Arabic interpreter, consent naming AA-MG,
    JC-MG and a named IQ adviser; Integrationskurs to DTZ B1; ZAB statement and the title
    "Ingenieur"; refugee status, SGB II, hand-over AA-MG -> JC-MG accepted; the B2
    Berufssprachkurs carries on under the Jobcenter; a skilled job starts."""
    case = await register(
        platform, given_name="Rana", family_name="Al-Khatib", date_of_birth="1988-11-20",
        nationality="SYR", languages=["ar", "en"], site="MG", town="Mönchengladbach",
        allocated_on="2016-02-01",
    )  # fmt: skip
    base = f"/cases/{case}"
    await steps.engineer_first_contact_and_consent(platform, base)
    await steps.gestattung(platform, base, "2016-01-15")
    ik_enrolment = await steps.integrationskurs_to_b1(platform, base)
    await steps.engineer_recognition(platform, base)

    # Refugee status; the Berufssprachkurs B2 starts while the Agentur is responsible.
    await steps.refugee_status(platform, base)
    berufssprachkurs, bsk_enrolment = new_id(), new_id()
    await platform.command(
        "language", f"{base}/entitlements",
        {"entitlement_id": berufssprachkurs, "course_type": "berufssprachkurs_basis",
         "target_level": "B2", "kind": "berechtigung", "issuer": "agentur",
         "issuing_agency": "AA-MG", "issued_on": "2016-09-01"},
    )  # fmt: skip
    await platform.command(
        "language", f"{base}/enrolments",
        {"enrolment_id": bsk_enrolment, "entitlement_id": berufssprachkurs,
         "provider": "Sprachschule Rheydt", "course_number": "BSK-B2-MG-2016-03",
         "modules": ["Basismodul B2"], "started_on": "2016-09-05"},
    )  # fmt: skip

    # Intake learns the milestones it hands over, then the SGB II application hands over.
    await platform.until_milestone(case, "language_level", "B1")
    await platform.until_milestone(case, "course", "Sprachschule Rheydt BSK-B2-MG-2016-03")
    await platform.until_milestone(case, "recognition", "title_permitted:ingenieur")
    await platform.command("intake", f"{base}/sgb2-application", {"applied_on": "2016-09-10"})
    intake_events = await platform.stored("intake", case)
    requested = last_of(intake_events, "intake.hand_over_requested")
    assert (requested["from_agency"], requested["to_agency"]) == ("AA-MG", "JC-MG")
    assert requested["package"]["language_level"] == "B1"
    assert requested["package"]["running_courses"] == ["Sprachschule Rheydt BSK-B2-MG-2016-03"]
    assert requested["package"]["recognition_state"] == "title_permitted:ingenieur"
    assert requested["package"]["interpreter_language"] == "ar"
    await steps.accept_hand_over(platform, base, requested["handover_id"], "2016-09-15", "JC-MG")

    # The entitlement's issuer changes to the Jobcenter; the enrolment carries on.
    await platform.until_stored("language", case, "language.issuer_changed")
    language_events = await platform.stored("language", case)
    changed = last_of(language_events, "language.issuer_changed")
    assert (changed["from_agency"], changed["to_agency"]) == ("AA-MG", "JC-MG")
    assert changed["entitlement_id"] == berufssprachkurs
    ended = [e["data"]["enrolment_id"] for e in language_events
             if e["type"] == "language.enrolment_ended"]  # fmt: skip
    assert ended == [ik_enrolment]  # the Berufssprachkurs runs on
    await platform.command(
        "language", f"{base}/attendance",
        {"enrolment_id": bsk_enrolment, "month": "2016-10", "units_scheduled": 80,
         "units_attended": 76},
        agency="JC-MG",
    )  # fmt: skip

    # Placement noted the residence permit (work allowed by law): a skilled job starts.
    await platform.until_stored("placement", case, "placement.residence_facts_noted")
    await _until_status(platform, case, "aufenthaltserlaubnis_25_2_gfk")
    await steps.skilled_job(platform, base)

    assert types_of(intake_events)[-2:] == [
        "intake.sgb2_application_recorded",
        "intake.hand_over_requested",
    ]
    assert "intake.hand_over_accepted" in await platform.published_types(INTAKE_TOPIC, case, 12)
    assert "language.issuer_changed" in await platform.published_types(LANGUAGE_TOPIC, case, 9)
    assert "recognition.protected_title_permitted" in await platform.published_types(
        RECOGNITION_TOPIC, case, 5
    )
    published = await platform.published_types(PLACEMENT_TOPIC, case, 1)
    assert published[-1] == "placement.placement_started"


async def _until_status(platform: Platform, case: str, status: str) -> None:
    for _ in range(300):
        stored = await platform.stored("placement", case)
        facts = [e["data"] for e in stored if e["type"] == "placement.residence_facts_noted"]
        if any(f.get("status") == status for f in facts):
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"placement never noted {status}")


async def test_iraqi_electrician_works_under_the_august_2016_rules(platform: Platform) -> None:
    """Scenario 2: Grevenbroich, Aufenthaltsgestattung for 5 months; a helper job: BA consent
    needed, priority check suspended in the Mönchengladbach district (rule version recorded);
    HWK partial recognition with missing competences, adaptation in the job, full recognition."""
    case = await register(
        platform, given_name="Karim", family_name="Haddad", date_of_birth="1982-02-11",
        nationality="IRQ", languages=["ar", "ku"], site="GV", town="Grevenbroich",
        allocated_on="2016-04-05",
    )  # fmt: skip
    base = f"/cases/{case}"
    await steps.gestattung(platform, base, "2016-04-01")
    await _until_status(platform, case, "aufenthaltsgestattung")
    await steps.helper_job_with_ba_consent(platform, base)
    await steps.electrician_recognition(platform, base)

    placement = await platform.stored("placement", case)
    consent = last_of(placement, "placement.ba_consent_decided")
    permission = last_of(placement, "placement.permission_decided")
    assert (consent["needed"], consent["vorrangpruefung"], consent["granted"]) == (
        True,
        False,
        True,
    )
    assert consent["beschaeftigungsbedingungen_geprueft"] is True
    assert consent["rule_version"] == permission["rule_version"] == "beschv-2016-08-06"
    recognition = await platform.stored("recognition", case)
    decisions = [e["data"] for e in recognition if e["type"] == "recognition.decision_issued"]
    assert [d["outcome"] for d in decisions] == ["teilweise_gleichwertigkeit",
                                                 "volle_gleichwertigkeit"]  # fmt: skip
    assert decisions[0]["missing_competences"] == ["VDE-Vorschriften", "Gebäudesystemtechnik"]
    assert (await platform.published_types(RECOGNITION_TOPIC, case, 8))[-1] == (
        "recognition.decision_issued"
    )


async def test_young_eritrean_goes_the_jugendberufsagentur_route(platform: Platform) -> None:
    """Scenario 3: Neuss, 19, consents himself; the Jugendberufsagentur route; PerjuF, then EQ
    with Assistierte Ausbildung, then an apprenticeship."""
    case = await register(
        platform, given_name="Yonas", family_name="Tesfaye", date_of_birth="1997-01-10",
        nationality="ERI", languages=["ti"], site="NE", town="Neuss", allocated_on="2016-03-01",
    )  # fmt: skip
    base = f"/cases/{case}"
    await steps.jugendberufsagentur_consent(platform, base)
    await steps.gestattung(platform, base, "2016-02-20")
    await steps.hand_over_to_the_jugendberufsagentur(platform, base)
    await platform.until_stored("placement", case, "placement.jugendberufsagentur_route_noted")
    await _until_status(platform, case, "aufenthaltsgestattung")

    await steps.perjuf_then_eq_then_apprenticeship(platform, base)

    placement = await platform.stored("placement", case)
    started = [e["data"] for e in placement if e["type"] == "placement.placement_started"]
    assert [(p["kind"], p["with_assistierte_ausbildung"]) for p in started] == [
        ("einstiegsqualifizierung", True),
        ("ausbildung", True),
    ]
    assert last_of(placement, "placement.measure_started")["kind"] == "perjuf"
    intake = await platform.stored("intake", case)
    assert last_of(intake, "intake.consent_given")["given_by_guardian"] is False
    assert last_of(intake, "intake.hand_over_accepted")["to_agency"] == "AA-MG"


async def test_a_move_from_grevenbroich_to_moenchengladbach(platform: Platform) -> None:
    """Scenario 4: JC-RKN hands over to JC-MG after a residence assignment; a second pending
    hand-over is refused; after acceptance JC-RKN cannot change the case; the site changes."""
    case = await register(
        platform, given_name="Hevin", family_name="Ibrahim", date_of_birth="1990-07-01",
        nationality="SYR", site="GV", town="Jüchen", allocated_on="2016-01-10",
    )  # fmt: skip
    base = f"/cases/{case}"
    await steps.gestattung(platform, base, "2016-01-05")
    await steps.subsidiary_protection_and_sgb2(platform, base)
    to_rkn = last_of(await platform.stored("intake", case), "intake.hand_over_requested")
    assert to_rkn["to_agency"] == "JC-RKN"
    await steps.accept_hand_over(platform, base, to_rkn["handover_id"], "2016-05-25", "JC-RKN")
    await steps.residence_assignment_to_moenchengladbach(platform, base)

    first = new_id()
    await steps.request_move_to_jc_mg(platform, base, first)
    second = await platform.command(
        "intake", f"{base}/hand-overs", {"handover_id": new_id(), **steps.MOVE_TO_JC_MG},
        agency="JC-RKN", expect=409,
    )  # fmt: skip
    await steps.accept_hand_over(platform, base, first, "2016-10-10", "JC-MG")
    after = await platform.command(
        "intake", f"{base}/contacts",
        {"contacted_on": "2016-10-12", "channel": "phone"}, agency="JC-RKN", expect=403,
    )  # fmt: skip

    assert second["rule"] == "hand_over.one_pending_at_a_time"
    assert after["rule"] == "case.only_responsible_agency_changes"
    accepted = last_of(await platform.stored("intake", case), "intake.hand_over_accepted")
    assert (accepted["from_agency"], accepted["to_agency"], accepted["new_site"]) == (
        "JC-RKN",
        "JC-MG",
        "MG",
    )
    await platform.until_stored("placement", case, "placement.residence_facts_noted")
    for _ in range(300):
        facts = [
            e["data"]
            for e in await platform.stored("placement", case)
            if e["type"] == "placement.residence_facts_noted"
        ]
        if facts and facts[-1].get("site") == "MG":
            break
        await asyncio.sleep(0.2)
    assert facts[-1]["site"] == "MG"
