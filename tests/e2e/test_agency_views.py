"""The agency views on the real broker and databases: after a fixed scenario, the raw tables
of every view's database hold what its agency may see and nothing it may not; a hand-over
brings the history to the Jobcenter; a withdrawn or expired consent takes the partner's rows
away while the other recipients keep theirs; every row held is in the disclosure log with its
legal basis or consent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest

from deploy.local.devstack import StackInfo
from services.chassis import clock
from services.projections.purpose import ViewId
from tests.e2e.agency_views import NAME, OCCUPATION, handed_over_case, serve_views
from tests.e2e.platform import Platform, caught_up, running_platform, until

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


# Every agency's view (steering holds no person: tests/e2e/test_steering_view.py).
VIEWS: tuple[ViewId, ...] = tuple(view for view in ViewId if view is not ViewId.STEERING)


@pytest.fixture(scope="module")
async def views(stack: StackInfo) -> AsyncIterator[tuple[Platform, dict[ViewId, str]]]:
    """The four services, and one view per agency on a fresh database each."""
    async with running_platform(stack) as platform, AsyncExitStack() as exits:
        dsns, _ = await serve_views(stack, platform, VIEWS, exits)
        yield platform, dsns


async def held(dsn: str, case_id: str) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT type, category, read_only, data::text AS data FROM case_events"
            " WHERE case_id = $1 ORDER BY occurred_at",
            UUID(case_id),
        )
    finally:
        await conn.close()
    return [dict(row) for row in rows]


async def everything(dsn: str) -> str:
    """Every table of a view database, as text: what an attacker with the database sees."""
    conn = await asyncpg.connect(dsn)
    try:
        parts = [
            str(await conn.fetch(f"SELECT * FROM {table}"))  # noqa: S608  # fixed table names
            for table in ("case_events", "case_facts", "disclosures")
        ]
    finally:
        await conn.close()
    return "\n".join(parts)


async def test_each_view_holds_what_its_agency_may_see(
    views: tuple[Platform, dict[ViewId, str]],
) -> None:
    """A registration in MG with consent for IQ, profile, language, recognition, then the
    Rechtskreiswechsel to JC-MG: each view database is inspected row by row."""
    platform, dsns = views
    case, consent = await handed_over_case(platform)
    base = f"/cases/{case}"

    async def jobcenter_has_history() -> bool:
        types = {row["type"] for row in await held(dsns[ViewId.JC_MG], case)}
        return {"intake.person_registered", "intake.profile_recorded"} <= types

    async def iq_has_recognition() -> bool:
        return any(
            r["category"] == "recognition" for r in await held(dsns[ViewId.PARTNER_IQ], case)
        )

    async def sozialamt_has_the_date() -> bool:
        return any(
            r["type"] == "intake.hand_over_accepted"
            for r in await held(dsns[ViewId.SOZIALAMT_MG], case)
        )

    await until(jobcenter_has_history, "the Jobcenter never received the history")
    await until(iq_has_recognition, "IQ never received the consented recognition data")
    await until(sozialamt_has_the_date, "the Sozialamt never learned the Rechtskreiswechsel")
    await caught_up(platform.stack.kafka, dsns.values())

    categories = {view: {row["category"] for row in await held(dsns[view], case)} for view in VIEWS}
    dumps = {view: await everything(dsns[view]) for view in VIEWS}
    aa_rows = await held(dsns[ViewId.AA_MG], case)

    assert {"identity", "profile", "language", "recognition", "residence"} <= categories[
        ViewId.AA_MG
    ]
    assert any(r["read_only"] for r in aa_rows), "the Agentur keeps read-only history"
    assert {"identity", "profile", "language", "recognition"} <= categories[ViewId.JC_MG]
    assert NAME in dumps[ViewId.JC_MG]
    assert OCCUPATION in dumps[ViewId.JC_MG]
    assert categories[ViewId.ABH_MG] <= {"identity", "residence", None}
    assert OCCUPATION not in dumps[ViewId.ABH_MG]
    assert categories[ViewId.SOZIALAMT_MG] <= {"identity", None}
    assert OCCUPATION not in dumps[ViewId.SOZIALAMT_MG]
    assert categories[ViewId.PARTNER_IQ] == {"recognition"}
    assert NAME not in dumps[ViewId.PARTNER_IQ]
    assert OCCUPATION not in dumps[ViewId.PARTNER_IQ]
    nothing_of_it = (
        ViewId.JC_RKN,
        ViewId.ABH_RKN,
        ViewId.SOZIALAMT_RKN,
        ViewId.PARTNER_JBA,
        ViewId.PARTNER_COURSE_PROVIDER,
    )
    assert set(VIEWS) == {ViewId.AA_MG, ViewId.JC_MG, ViewId.ABH_MG, ViewId.SOZIALAMT_MG}.union(
        {ViewId.PARTNER_IQ}, nothing_of_it
    ), "every agency's view is inspected"
    for nothing in nothing_of_it:
        assert case not in dumps[nothing], f"{nothing} holds something of the case"

    # The consent goes: IQ's rows for the person go with it, its log stays.
    await platform.command(
        "intake",
        f"{base}/consents/withdrawal",
        {"consent_id": consent, "withdrawn_on": "2016-07-01"},
        agency="JC-MG",
    )

    async def iq_forgot() -> bool:
        return await held(dsns[ViewId.PARTNER_IQ], case) == []

    await until(iq_forgot, "the partner kept rows after the consent was withdrawn")
    await caught_up(platform.stack.kafka, dsns.values())
    conn = await asyncpg.connect(dsns[ViewId.PARTNER_IQ])
    try:
        logged = await conn.fetch(
            "SELECT consent_id, legal_basis FROM disclosures WHERE case_id = $1", UUID(case)
        )
    finally:
        await conn.close()
    assert logged
    assert {(str(r["consent_id"]), r["legal_basis"]) for r in logged} == {(consent, None)}


async def test_an_ended_consent_takes_its_recipients_copies_and_only_theirs(
    views: tuple[Platform, dict[ViewId, str]],
) -> None:
    """Two consents: IQ for recognition until a date, the Jugendberufsagentur for the profile
    open-ended. When the first ends (withdrawn today: an expiry can be recorded only after
    its last day), IQ's rows of the person go (its disclosure log
    stays); the Jugendberufsagentur keeps its consented rows and the Agentur, on its own
    legal basis, keeps every row it had."""
    platform, dsns = views
    case = (
        await platform.command(
            "intake",
            "/cases",
            {
                "given_name": "Meron",
                "family_name": "Habte",
                "date_of_birth": "2000-01-01",
                "nationality": "ERI",
                "site": "MG",
                "town": "Mönchengladbach",
                "allocated_on": "2016-02-01",
            },
        )
    )["case_id"]
    base = f"/cases/{case}"
    # The views judge a consent's end on the recording calendar: it must still run today.
    until_day = (clock.today() + timedelta(days=365)).isoformat()
    iq_consent, jba_consent = str(uuid4()), str(uuid4())
    consent = {
        "notice_version": "2016-01",
        "notice_language": "ti",
        "method": "written",
        "given_on": "2016-02-10",
    }
    for path, body in (
        (
            "consents",
            {
                **consent,
                "consent_id": iq_consent,
                "purposes": ["recognition"],
                "recipients": [{"partner": "iq_counselling"}],
                "data_categories": ["recognition"],
                "valid_until": until_day,
            },
        ),
        (
            "consents",
            {
                **consent,
                "consent_id": jba_consent,
                "purposes": ["placement"],
                "recipients": [{"partner": "jugendberufsagentur"}],
                "data_categories": ["profile"],
            },
        ),
        (
            "profile",
            {
                "work_history": [
                    {
                        "country": "ERI",
                        "occupation": "Schneiderin",
                        "kldb": "28222",
                        "from_year": 2014,
                    }
                ]
            },
        ),
    ):
        await platform.command("intake", f"{base}/{path}", body)
    await platform.command(
        "recognition",
        f"{base}/counselling",
        {
            "procedure_id": str(uuid4()),
            "qualification_kind": "berufsabschluss",
            "qualification_title": "Schneiderin",
            "country": "ERI",
            "counselled_by": "iq_beratung",
            "held_on": "2016-03-01",
        },
    )

    async def both_partners_hold() -> bool:
        iq = {r["category"] for r in await held(dsns[ViewId.PARTNER_IQ], case)}
        jba = {r["category"] for r in await held(dsns[ViewId.PARTNER_JBA], case)}
        return iq == {"recognition"} and jba == {"profile"}

    await until(both_partners_hold, "the partners never received the consented rows")
    await caught_up(platform.stack.kafka, dsns.values())
    aa_before = await held(dsns[ViewId.AA_MG], case)
    jba_before = await held(dsns[ViewId.PARTNER_JBA], case)

    await platform.command(
        "intake",
        f"{base}/consents/withdrawal",
        {"consent_id": iq_consent, "withdrawn_on": clock.today().isoformat()},
    )

    async def iq_forgot() -> bool:
        return await held(dsns[ViewId.PARTNER_IQ], case) == []

    await until(iq_forgot, "the partner kept rows after the consent ended")
    await caught_up(platform.stack.kafka, dsns.values())
    aa_after = await held(dsns[ViewId.AA_MG], case)
    conn = await asyncpg.connect(dsns[ViewId.PARTNER_IQ])
    try:
        logged = await conn.fetch(
            "SELECT consent_id FROM disclosures WHERE case_id = $1", UUID(case)
        )
    finally:
        await conn.close()

    assert await held(dsns[ViewId.PARTNER_JBA], case) == jba_before, "JBA's consent still runs"
    assert [r for r in aa_after if r["type"] != "intake.consent_withdrawn"] == aa_before
    assert {"recognition", "profile", "identity"} <= {r["category"] for r in aa_after}
    assert {str(r["consent_id"]) for r in logged} == {iq_consent}


async def test_the_auslaenderbehoerde_holds_the_training_contract_and_no_counselling(
    views: tuple[Platform, dict[ViewId, str]],
) -> None:
    """An Ausbildungsduldung recorded by Stadt MG's office reaches its view with the training
    company and dates; the profile recorded beside it reaches the Agentur only."""
    platform, dsns = views
    registered = await platform.command(
        "intake",
        "/cases",
        {
            "given_name": "Farid",
            "family_name": "Noori",
            "date_of_birth": "1997-05-05",
            "nationality": "AFG",
            "site": "MG",
            "town": "Mönchengladbach",
            "allocated_on": "2016-01-15",
        },
    )
    base = f"/cases/{registered['case_id']}"
    await platform.command(
        "intake",
        f"{base}/residence-status",
        {
            "status": "ausbildungsduldung",
            "valid_from": "2016-09-01",
            "valid_until": "2019-08-31",
            "stay_since": "2015-12-20",
            "ausbildung": {
                "ausbildungsbetrieb": "Tischlerei Beispiel GmbH",
                "ausbildungsberuf": "22342",
                "beginnt_am": "2016-09-01",
                "endet_am": "2019-08-31",
            },
        },
        agency="STADT-MG",
    )
    await platform.command(
        "intake",
        f"{base}/profile",
        {"work_history": [{"country": "AFG", "occupation": "Schreinergeselle", "from_year": 2013}]},
    )

    async def both_arrived() -> bool:
        abh = {row["type"] for row in await held(dsns[ViewId.ABH_MG], registered["case_id"])}
        aa = {row["type"] for row in await held(dsns[ViewId.AA_MG], registered["case_id"])}
        return "intake.residence_status_recorded" in abh and "intake.profile_recorded" in aa

    await until(both_arrived, "the residence record or the profile never reached the views")
    await caught_up(platform.stack.kafka, dsns.values())
    abh_rows = await held(dsns[ViewId.ABH_MG], registered["case_id"])

    [residence] = [r for r in abh_rows if r["type"] == "intake.residence_status_recorded"]
    assert '"ausbildungsbetrieb": "Tischlerei Beispiel GmbH"' in residence["data"]
    assert '"endet_am": "2019-08-31"' in residence["data"]
    assert "intake.profile_recorded" not in {r["type"] for r in abh_rows}
    assert "Schreinergeselle" not in await everything(dsns[ViewId.ABH_MG])
