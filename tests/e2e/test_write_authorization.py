"""Who may write, through HTTP on the real stack: every role of every agency (and a partner)
sends every command of the four services on one Agentur case in Mönchengladbach; only the
allowed combinations get past the table (201, or 409 when the case's state refuses), all
others are 403 naming the rule. Unknown cases are 404 on every service, a token that does
not prove who acts is 401, a reused Idempotency-Key with another body is 422 with nothing
stored, and every event records who acted."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any
from uuid import uuid4

import httpx
import jwt
import pytest

from deploy.local.demo import EXAMPLE_REGISTRATION
from deploy.local.demo_users import USERS
from deploy.local.devstack import StackInfo
from services import authorization as tables
from tests.e2e.platform import Platform, running_platform
from tests.identity import forged_token
from tests.tokens import signed

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

Body = Callable[[], dict[str, Any]]
AA = ("AA-MG", "case_worker")
AA_DP = ("AA-MG", "data_protection")
JC_MG = ("JC-MG", "case_worker")
ABH_MG = ("STADT-MG", "abh_case_worker")
# Every role of every agency, and a partner (it reports through its own channel): the
# realm's demo users.
PRINCIPALS = sorted(USERS)


# A partner is no agency of the network: refused before any table is asked.
PARTNER_RULE = {"iq_counselling": "command.only_network_agencies"}


def new() -> str:
    return str(uuid4())


HANDOVER = new()  # the pending Jugendberufsagentur hand-overs the receiver decides on
SECOND_HANDOVER = new()
CONSENT = new()
EXPIRING = new()
INTERPRETER = new()
NO_SHOW = new()
ACADEMIC = new()
ENTITLEMENT = new()
ENROLMENT = new()
PROCEDURE = new()
MEASURE = new()
REQUEST = new()
OPENING = new()
PLACEMENT = new()

# (service, path, body, the (agency, role)s that may issue it on the case), in an order that
# keeps the case open for the later rows: closing and erasure come last.
MATRIX: list[tuple[str, str, Body, set[tuple[str, str]]]] = [
    ("language", "entitlements", lambda: {
        "entitlement_id": new(), "course_type": "integrationskurs", "kind": "verpflichtung",
        "issuer": "abh", "issuing_agency": "STADT-MG", "issued_on": "2016-03-01"}, {ABH_MG}),
    ("language", "entitlements", lambda: {
        "entitlement_id": ENTITLEMENT, "course_type": "berufssprachkurs_basis",
        "target_level": "B2", "kind": "berechtigung", "issuer": "agentur",
        "issuing_agency": "AA-MG", "issued_on": "2016-03-01"}, {AA}),
    ("language", "placement-tests", lambda: {"level": "B1", "taken_on": "2016-03-10"}, {AA}),
    ("language", "enrolments", lambda: {
        "enrolment_id": ENROLMENT, "entitlement_id": ENTITLEMENT, "provider": "VHS",
        "course_number": "216/30001", "modules": ["Basismodul"], "started_on": "2016-04-04"},
     {AA}),
    ("language", "attendance", lambda: {
        "enrolment_id": ENROLMENT, "month": "2016-04", "units_scheduled": 80,
        "units_attended": 76}, {AA}),
    ("language", "exams", lambda: {
        "enrolment_id": ENROLMENT, "exam": "dtb_b2", "result": "B2",
        "taken_on": "2016-10-20"}, {AA}),
    ("language", "enrolments/end", lambda: {
        "enrolment_id": ENROLMENT, "outcome": "completed", "ended_on": "2016-10-31"}, {AA}),
    ("recognition", "counselling", lambda: {
        "procedure_id": PROCEDURE, "qualification_kind": "berufsabschluss",
        "qualification_title": "Elektriker", "country": "IRQ", "counselled_by": "iq_beratung",
        "held_on": "2016-03-01"}, {AA}),
    ("recognition", "reference-occupation", lambda: {
        "procedure_id": PROCEDURE, "kldb": "26212", "title": "Elektroniker/in",
        "regulated": False, "bereich": "handwerk"}, {AA}),
    ("recognition", "competent-authority", lambda: {
        "procedure_id": PROCEDURE, "authority": "hwk_duesseldorf"}, {AA}),
    ("recognition", "application", lambda: {
        "procedure_id": PROCEDURE, "submitted_on": "2016-04-01"}, {AA}),
    ("recognition", "document-request", lambda: {
        "procedure_id": PROCEDURE, "documents": ["Zeugnis"], "requested_on": "2016-04-05",
        "due_on": "2016-05-05"}, {AA}),
    ("recognition", "decision", lambda: {
        "procedure_id": PROCEDURE, "outcome": "teilweise_gleichwertigkeit",
        "missing_competences": ["VDE 0100"], "legal_basis": "bqfg",
        "decided_on": "2016-09-12"}, {AA}),
    ("recognition", "adaptation-start", lambda: {
        "procedure_id": PROCEDURE, "measure_id": MEASURE, "provider": "HWK",
        "started_on": "2016-10-01"}, {AA}),
    ("recognition", "adaptation-completion", lambda: {
        "procedure_id": PROCEDURE, "measure_id": MEASURE, "completed_on": "2017-03-01"}, {AA}),
    ("recognition", "counselling", lambda: {
        "procedure_id": ACADEMIC, "qualification_kind": "hochschulabschluss",
        "qualification_title": "Bauingenieurwesen", "country": "SYR",
        "counselled_by": "iq_beratung", "held_on": "2016-03-01"}, {AA}),
    ("recognition", "competent-authority", lambda: {
        "procedure_id": ACADEMIC, "authority": "zab"}, {AA}),
    ("recognition", "application", lambda: {
        "procedure_id": ACADEMIC, "submitted_on": "2016-04-01"}, {AA}),
    ("recognition", "zab-statement", lambda: {
        "procedure_id": ACADEMIC, "comparable_to": "Bachelor", "issued_on": "2016-05-01"}, {AA}),
    ("recognition", "protected-title", lambda: {
        "procedure_id": ACADEMIC, "title": "ingenieur",
        "authority": "bezirksregierung_duesseldorf", "granted_on": "2016-05-01"}, {AA}),
    ("recognition", "competence-assessment", lambda: {
        "assessment_id": new(), "method": "myskills", "occupation": "26212",
        "result_summary": "Grundkenntnisse", "assessed_on": "2016-03-15"}, {AA}),
    ("placement", "work-permission-requests", lambda: {
        "request_id": REQUEST, "employer": "Elektro Schmitz GmbH", "job_description": "Helfer",
        "job_type": "helfer", "start_date": "2016-09-19", "requested_on": "2016-09-05"},
     {ABH_MG}),
    ("placement", "ba-consent-decisions", lambda: {
        "request_id": REQUEST, "granted": True, "decided_on": "2016-09-12"}, {AA}),
    ("placement", "permission-decisions", lambda: {
        "request_id": REQUEST, "granted": True, "valid_until": "2016-10-03",
        "decided_on": "2016-09-14"}, {ABH_MG}),
    ("placement", "measures", lambda: {
        "measure_id": MEASURE, "kind": "perf", "provider": "Träger",
        "started_on": "2016-04-01"}, {AA}),
    ("placement", "measure-ends", lambda: {
        "measure_id": MEASURE, "ended_on": "2016-05-01", "outcome": "completed"}, {AA}),
    ("placement", "openings", lambda: {
        "opening_id": OPENING, "employer": "Autohaus", "kldb": "25212", "kind": "ausbildung",
        "received_on": "2016-08-29"}, {AA}),
    ("placement", "proposals", lambda: {
        "proposal_id": new(), "opening_id": OPENING, "proposed_on": "2016-08-30"}, {AA}),
    ("placement", "placements", lambda: {
        "placement_id": PLACEMENT, "kind": "beschaeftigung", "skill_level": "helfer",
        "employer": "Elektro Schmitz GmbH", "kldb": "26301", "started_on": "2016-09-19",
        "work_permission_request_id": REQUEST}, {AA}),
    ("placement", "follow-ups", lambda: {
        "placement_id": PLACEMENT, "contacted_on": "2016-10-10", "still_in_post": True}, {AA}),
    ("placement", "placement-ends", lambda: {
        "placement_id": PLACEMENT, "ended_on": "2016-11-01", "reason": "completed"}, {AA}),
    ("intake", "identifiers", lambda: {
        "kind": "ba_customer_number", "value": "123A456789"}, {AA, ABH_MG}),
    ("intake", "residence-status", lambda: {
        "status": "aufenthaltsgestattung", "valid_from": "2016-02-01",
        "stay_since": "2016-01-20"}, {AA, ABH_MG}),
    ("intake", "asylum-decision", lambda: {
        "outcome": "fluechtlingseigenschaft", "decided_on": "2016-06-01"}, {AA, ABH_MG}),
    ("intake", "wohnsitzauflage", lambda: {
        "town": "Mönchengladbach", "effective_from": "2016-06-15"}, {AA, ABH_MG}),
    ("intake", "first-contact", lambda: {"contacted_on": "2016-02-09"}, {AA}),
    ("intake", "contacts", lambda: {"contacted_on": "2016-02-20", "channel": "phone"}, {AA}),
    ("intake", "profile", lambda: {"target_occupation": "26212"}, {AA}),
    ("intake", "consents", lambda: {
        "consent_id": CONSENT, "purposes": ["recognition"],
        "recipients": [{"partner": "iq_counselling"}], "data_categories": ["profile"],
        "notice_version": "2016-01", "notice_language": "ar", "method": "written",
        "given_on": "2016-02-09"}, {AA}),
    ("intake", "consents", lambda: {
        "consent_id": EXPIRING, "purposes": ["counselling"], "recipients": [{"agency": "JC-MG"}],
        "data_categories": ["profile"], "notice_version": "2016-01", "notice_language": "ar",
        "method": "written", "given_on": "2016-02-09", "valid_until": "2016-03-01"}, {AA}),
    ("intake", "referrals", lambda: {
        "referral_id": new(), "partner": "iq_counselling", "purpose": "recognition",
        "referred_on": "2016-02-10"}, {AA}),
    ("intake", "consents/withdrawal", lambda: {
        "consent_id": CONSENT, "withdrawn_on": "2016-03-01"}, {AA}),
    ("intake", "consents/expiry", lambda: {"consent_id": EXPIRING, "expired_on": "2016-03-02"},
     {AA}),
    ("intake", "interpreter-requests", lambda: {
        "request_id": INTERPRETER, "language": "ar",
        "slot_start": "2016-02-15T10:00:00+01:00"}, {AA}),
    ("intake", "interpreter-requests/assignment", lambda: {
        "request_id": INTERPRETER, "interpreter_ref": "pool-17"}, {AA}),
    ("intake", "interpreter-requests/session", lambda: {"request_id": INTERPRETER}, {AA}),
    ("intake", "interpreter-requests", lambda: {
        "request_id": NO_SHOW, "language": "ar", "slot_start": "2016-02-16T10:00:00+01:00"},
     {AA}),
    ("intake", "interpreter-requests/assignment", lambda: {
        "request_id": NO_SHOW, "interpreter_ref": "pool-18"}, {AA}),
    ("intake", "interpreter-requests/no-show", lambda: {
        "request_id": NO_SHOW, "party": "client"}, {AA}),
    ("intake", "hand-overs", lambda: {
        "handover_id": HANDOVER, "to_agency": "AA-MG", "reason": "under_25_jugendberufsagentur",
        "requested_on": "2016-02-11"}, {AA}),
    ("intake", "hand-overs/rejection", lambda: {
        "handover_id": HANDOVER, "rejected_on": "2016-02-12", "reason": "kein U25"}, {AA}),
    ("intake", "hand-overs", lambda: {
        "handover_id": SECOND_HANDOVER, "to_agency": "AA-MG",
        "reason": "under_25_jugendberufsagentur", "requested_on": "2016-02-13"}, {AA}),
    ("intake", "hand-overs/acceptance", lambda: {
        "handover_id": SECOND_HANDOVER, "accepted_on": "2016-02-14"}, {AA}),
    # The application requests the Rechtskreiswechsel to JC-MG: the closing waits for it.
    ("intake", "sgb2-application", lambda: {"applied_on": "2016-06-20"}, {AA, JC_MG}),
    ("intake", "closing", lambda: {"reason": "work", "closed_on": "2016-12-01"}, {AA}),
    ("intake", "erasure", lambda: {"reason": "Art. 17 DSGVO", "erased_on": "2016-12-02"},
     {AA, AA_DP}),
]  # fmt: skip


# Where two may issue a command, the second meets the state the first left; the closing
# waits for the Rechtskreiswechsel the SGB II application requested.
BY_STATE = {
    "identifiers STADT-MG/abh_case_worker": "identifier.already_linked",
    "asylum-decision STADT-MG/abh_case_worker": "asylum.decided_once",
    "sgb2-application JC-MG/case_worker": "sgb2.applied_once",
    "closing AA-MG/case_worker": "case.hand_over_pending",
    "erasure AA-MG/data_protection": "case.erased",
}


def rule_of(service: str, path: str) -> str:
    """The rule the service's table names for the command at ``path``."""
    table, router = tables.SERVICES[service]
    route = next(r for r in router.routes if getattr(r, "path", "") == f"/cases/{{case_id}}/{path}")
    command = next(c for c in table if c.__name__ == getattr(route, "name", ""))
    return table[command].name


def body_of(path: str) -> dict[str, Any]:
    """A valid body of the matrix's command at ``path``."""
    return next(body for _, at, body, _ in MATRIX if at == path)()


@pytest.fixture(scope="module")
async def platform(stack: StackInfo) -> AsyncIterator[Platform]:
    async with running_platform(stack) as running:
        yield running


async def registered(platform: Platform) -> str:
    """A new case of the Agentur in Mönchengladbach, born in 2000 (under 25 in 2016)."""
    person = {**EXAMPLE_REGISTRATION, "date_of_birth": "2000-05-01"}
    return str((await platform.command("intake", "/cases", person))["case_id"])


async def test_only_the_allowed_agencies_and_roles_write(platform: Platform) -> None:
    """Every principal by every command: the allowed get past the table (201, or 409 by the
    case's state), the others 403 naming the rule; the registration likewise."""
    case_id = await registered(platform)
    await platform.command("intake", f"/cases/{case_id}/identifiers",
                           {"kind": "bamf_file_number", "value": "6543210-475"})  # fmt: skip
    # Placement decides on the residence facts it learns from intake's topic.
    await platform.command("intake", f"/cases/{case_id}/residence-status",
                           {"status": "aufenthaltsgestattung", "valid_from": "2016-01-20",
                            "valid_until": "2016-10-03", "stay_since": "2016-01-20"})  # fmt: skip
    await platform.until_stored("placement", case_id, "placement.residence_facts_noted")
    wrong: list[str] = []
    by_state: dict[str, str] = {}
    for service, path, body, allowed in MATRIX:
        rule = rule_of(service, path)
        # The refused first: they change nothing, so the allowed still meet the state.
        for agency, role in sorted(PRINCIPALS, key=lambda who: who in allowed):
            answer = await platform.send(
                service, f"/cases/{case_id}/{path}", body(), agency=agency, role=role
            )
            got = answer.json()
            if (agency, role) in allowed:
                if answer.status_code == 409:
                    by_state[f"{path} {agency}/{role}"] = got["rule"]
                elif answer.status_code != 201:
                    wrong.append(f"{service} {path} {agency}/{role}: {answer.status_code} {got}")
            elif (answer.status_code, got.get("rule")) != (403, PARTNER_RULE.get(agency, rule)):
                wrong.append(f"{service} {path} {agency}/{role}: {answer.status_code} {got}")
    registrations = {
        (agency, role): (await platform.send("intake", "/cases", dict(EXAMPLE_REGISTRATION),
                                             agency=agency, role=role)).status_code
        for agency, role in PRINCIPALS
    }  # fmt: skip

    assert wrong == [], "\n".join(wrong)
    assert by_state == BY_STATE
    assert {who for who, status in registrations.items() if status == 201} == {AA, ABH_MG}
    assert set(registrations.values()) == {201, 403}


async def test_every_event_records_who_acted(platform: Platform) -> None:
    """A command's events carry the acting role and a pseudonymous reference (never the
    user name or the provider's subject); a reaction's events name their cause instead."""
    subject = jwt.decode(_genuine(platform), options={"verify_signature": False})["sub"]
    case_id = await registered(platform)
    await platform.command("language", f"/cases/{case_id}/placement-tests",
                           {"level": "A2", "taken_on": "2016-03-10"})  # fmt: skip
    await platform.until_stored("placement", case_id, "placement.residence_facts_noted")

    services = ("intake", "language", "placement")
    envelopes = [e for service in services for e in await platform.stored(service, case_id)]

    by_command = [e for e in envelopes if e.get("causation_id") is None]
    commanded = {e["type"] for e in by_command}
    assert commanded >= {"intake.person_registered", "language.placement_test_taken"}
    for envelope in by_command:
        actor = envelope["actor"]
        assert actor["role"] == "case_worker"
        assert len(actor["reference"]) == 32
        assert "anna.aa" not in str(envelope)  # the user name
        assert subject not in str(envelope)  # the provider's subject
    assert all("actor" not in e for e in envelopes if e.get("causation_id") is not None)


@pytest.mark.parametrize(
    ("service", "path", "body", "rule"),
    [
        ("intake", "first-contact", {"contacted_on": "2016-02-09"}, "case.must_be_registered"),
        ("language", "placement-tests", {"level": "A2", "taken_on": "2016-03-10"}, "case.unknown"),
        ("recognition", "competence-assessment", body_of("competence-assessment"), "case.unknown"),
        ("placement", "measures", body_of("measures"), "case.unknown"),
    ],
)
async def test_a_case_the_service_never_heard_of_is_404(
    platform: Platform,
    service: str,
    path: str,
    body: dict[str, Any],
    rule: str,
) -> None:
    """A command on a case no one registered is 404 naming the rule, and stores nothing."""
    case_id = new()
    answer = await platform.clients[service].post(
        f"/cases/{case_id}/{path}", json=body, headers=signed(platform.stack)
    )

    assert (answer.status_code, answer.json()["rule"]) == (404, rule)
    assert await platform.stored(service, case_id) == []


def _genuine(platform: Platform) -> str:
    return signed(platform.stack)["Authorization"].removeprefix("Bearer ")


def _unsigned(platform: Platform) -> str:
    """The genuine token's claims without a signature (``alg: none``)."""
    claims = jwt.decode(_genuine(platform), options={"verify_signature": False})
    return jwt.encode(claims, "", algorithm="none")


# The provider's own tokens, expired or of another issuer, are refused by the verifier's own
# tests (tests/e2e/test_provider_*.py); here: what a client without a genuine token can send.
@pytest.mark.parametrize(
    ("what", "authorization"),
    [
        ("no token", None),
        ("not a JWT", lambda _: "Bearer not-a-token"),
        ("forged signature", lambda p: f"Bearer {forged_token(_genuine(p))}"),
        ("forged claims", lambda p: f"Bearer {forged_token(_genuine(p), agency='JC-MG')}"),
        ("alg none", lambda p: f"Bearer {_unsigned(p)}"),
    ],
)
async def test_a_token_that_does_not_prove_who_acts_is_401(
    platform: Platform, what: str, authorization: Callable[[Platform], str] | None
) -> None:
    """401 with ``WWW-Authenticate: Bearer``, and nothing stored."""
    headers = {} if authorization is None else {"Authorization": authorization(platform)}
    before = await platform.stored_count("intake")

    intake = platform.clients["intake"]
    answer = await intake.post("/cases", json=EXAMPLE_REGISTRATION, headers=headers)

    assert answer.status_code == 401, what
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert await platform.stored_count("intake") == before


async def test_an_idempotency_key_reused_for_another_request_is_422(platform: Platform) -> None:
    """The same key with another body, on another case or for another command is refused
    naming the key, and nothing is stored; the first request again replays."""
    case_id = await registered(platform)
    other_case = await registered(platform)
    key = {"Idempotency-Key": f"contact-{new()}"}
    contact = {"contacted_on": "2016-02-09"}

    async def post(case: str, path: str, body: dict[str, Any]) -> httpx.Response:
        return await platform.clients["intake"].post(
            f"/cases/{case}/{path}", json=body, headers={**signed(platform.stack), **key}
        )

    first = await post(case_id, "first-contact", contact)
    before = await platform.stored_count("intake")
    reused = [
        await post(case_id, "first-contact", {"contacted_on": "2016-02-10"}),
        await post(other_case, "first-contact", contact),
        await post(case_id, "contacts", {**contact, "channel": "phone"}),
    ]
    after = await platform.stored_count("intake")
    again = await post(case_id, "first-contact", contact)

    assert first.status_code == 201
    assert [r.status_code for r in reused] == [422, 422, 422]
    assert all(r.json()["detail"][0]["field"] == "Idempotency-Key" for r in reused)
    assert after == before
    assert (again.status_code, again.json()) == (201, {**first.json(), "replayed": True})
