"""The case workers' web pages in a real headless Chromium (Debian's ``/usr/bin/chromium``,
driven by Playwright) against the four services, the Agentur's view and the steering view on
the real broker and databases: sign in on the test stack's Keycloak (its login page, a demo
user of deploy/local/keycloak/), register a person (a bad field first), find the
person in the caseload, record the first contact, see the timeline update, a placement
test and a recognition counselling from their services' forms, a measure refused by
placement's rules, and the steering page. Screenshots go to ``.local/artefacts/web/``."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from playwright.async_api import Browser, Page, async_playwright

from deploy.local.devstack import StackInfo
from deploy.local.identity_provider import DEMO_PASSWORD
from deploy.local.principals import view_principal
from services.projections.agency_settings import AgencyViewSettings
from services.projections.purpose import ViewId
from services.projections.views import create_app as view_app
from services.web.app import create_app as web_app
from services.web.settings import WebSettings
from tests.conftest import free_port
from tests.e2e.harness import REPO, serving
from tests.e2e.platform import caught_up, fresh_database, running_platform
from tests.identity import verifying, view_reader

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

CHROMIUM = Path("/usr/bin/chromium")
IP_MG_TOTAL = "IP Mönchengladbach gesamt"
ARTEFACTS = REPO / ".local" / "artefacts" / "web"
DEADLINE = 90.0  # the machine is shared: poll generously, never sleep a fixed time


@dataclass
class Site:
    url: str


def neighbour(n: int) -> dict[str, Any]:
    return {
        "given_name": f"Person {n}",
        "family_name": "Nachbar",
        "date_of_birth": "1980-01-01",
        "nationality": "ERI",
        "site": "MG",
        "town": "Mönchengladbach",
        "allocated_on": datetime.now(UTC).date().isoformat(),
    }


@pytest.fixture(scope="module")
async def web(stack: StackInfo) -> AsyncIterator[Site]:
    """The four services, the Agentur's view and the web pages, each on a loopback port."""
    async with running_platform(stack) as platform, AsyncExitStack() as exits:
        urls: dict[ViewId, str] = {}
        dsns: list[str] = []
        for view in (ViewId.AA_MG, ViewId.STEERING):
            dsns.append(await fresh_database(stack.admin_dsn))
            settings = AgencyViewSettings(
                agency_view=view,
                agency_database_url=dsns[-1],
                agency_consumer_group=f"projection.{view.value}.test-web.{uuid4().hex[:8]}",
                **stack.kafka_settings(view_principal(view)),
                intake_url=platform.urls["intake"],
                **verifying(stack),
                **view_reader(stack),
            )
            urls[view] = await exits.enter_async_context(serving(view_app(settings), free_port()))
        # Five more persons at MG, over 25, in SGB III: one steering cell large enough to show.
        for n in range(5):
            await platform.command("intake", "/cases", neighbour(n))
        # Fresh views read the topics from the start, earlier tests' events too: the pages
        # wait ten seconds for a command to show, not for a whole backlog.
        await caught_up(stack.kafka, dsns)
        port = free_port()
        web = WebSettings(
            **verifying(stack),
            web_public_url=f"http://127.0.0.1:{port}",  # where Keycloak sends the browser back
            web_view_urls={ViewId.AA_MG: urls[ViewId.AA_MG]},
            web_steering_url=urls[ViewId.STEERING],
            intake_url=platform.urls["intake"],
            language_url=platform.urls["language"],
            recognition_url=platform.urls["recognition"],
            placement_url=platform.urls["placement"],
        )
        yield Site(await exits.enter_async_context(serving(web_app(web), port)))


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    """Debian's Chromium, headless; Playwright only drives it (no browser download)."""
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is not installed (make test installs it)")
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            # CI runs as root, where Chromium cannot start its sandbox.
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox"],
        )
        try:
            yield chromium
        finally:
            await chromium.close()


async def until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE
    while loop.time() < deadline:
        if await check():
            return
        await asyncio.sleep(0.5)
    raise AssertionError(what)


async def shot(page: Page, name: str) -> Path:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTEFACTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


async def sign_in(page: Page, base: str, *, user: str, purpose: str = "counselling") -> None:
    """Through the provider: the web's sign-in page, Keycloak's login form, and back."""
    await page.goto(f"{base}/anmelden")
    await page.locator("#anmeldung select[name=zweck]").select_option(purpose)
    await page.locator("#anmeldung button").click()
    await page.wait_for_selector("#kc-form-login")  # Keycloak's own login page
    await page.fill("#username", user)
    await page.fill("#password", DEMO_PASSWORD)
    await page.click("#kc-login")
    await page.wait_for_url(f"{base}/**")


async def test_a_case_worker_registers_contacts_and_sees_the_timeline(
    web: Site, browser: Browser
) -> None:
    """The whole flow in a real browser, from sign-in to the steering page."""
    page = await browser.new_page(locale="de-DE", viewport={"width": 1280, "height": 900})
    family = f"Haddad-{uuid4().hex[:6]}"
    allocated = (datetime.now(UTC) - timedelta(days=30)).date()

    await sign_in(page, web.url, user="anna.aa")
    assert page.url.endswith("/faelle")
    assert "anna" in await page.locator("header").inner_text()

    # Register, first with a nationality the service refuses: the reason sits at the field.
    await page.click("text=Person registrieren")
    form = page.locator("#form-registrieren")
    await form.locator("input[name=given_name]").fill("Amina")
    await form.locator("input[name=family_name]").fill(family)
    await form.locator("input[name=date_of_birth]").fill("1989-03-14")
    await form.locator("input[name=nationality]").fill("syrisch")
    await form.locator("input[name=languages]").fill("ar")
    await form.locator("select[name=site]").select_option("MG")
    await form.locator("select[name=town]").select_option("Mönchengladbach")
    await form.locator("input[name=allocated_on]").fill(allocated.isoformat())
    await form.locator("button").click()
    error = page.locator('[data-field="nationality"]')
    assert "ISO-Code" in await error.inner_text()
    assert await page.locator("input[name=family_name]").input_value() == family
    await shot(page, "01-registrierung-fehler")

    await page.locator("input[name=nationality]").fill("SYR")
    await page.locator("#form-registrieren button").click()
    await page.wait_for_url("**/faelle/*?meldung=*")
    case_url = page.url.split("?", 1)[0]
    assert "Person registriert" in await page.locator("#meldung").inner_text()

    # The caseload finds the person at MG, with the first contact overdue (30 days, none).
    async def listed() -> bool:
        await page.goto(f"{web.url}/faelle?standort=MG&ueberfaellig=1")
        return family in await page.locator("#fallliste").inner_text()

    await until(listed, "the new person never appeared in the caseload")
    row = page.locator("#fallliste tr", has_text=family)
    assert "überfällig" in await row.inner_text()
    assert "SGB III" in await row.inner_text()
    await page.goto(f"{web.url}/faelle?standort=NE")
    assert family not in await page.locator("#fallliste").inner_text()
    await page.goto(f"{web.url}/faelle?standort=MG&ueberfaellig=1")
    await shot(page, "02-fallliste")

    # Record the first contact on the case page; the timeline shows it.
    await page.locator("#fallliste a", has_text=family).click()
    assert page.url == case_url
    contact = page.locator("#form-erstkontakt")
    await contact.locator("input[name=contacted_on]").fill(
        (allocated + timedelta(days=8)).isoformat()
    )
    await contact.locator("input[name=interpreter_language]").fill("ar")
    await contact.locator("button").click()
    await page.wait_for_url("**meldung=*")

    async def contact_shown() -> bool:
        timeline = await page.locator("#zeitleiste").inner_text()
        if "Erstkontakt" in timeline:
            return True
        await page.goto(case_url)
        return False

    await until(contact_shown, "the timeline never showed the first contact")
    assert await page.locator("#fallstatus").inner_text() == "in Betreuung"
    assert "Person registriert" in await page.locator("#zeitleiste").inner_text()
    await shot(page, "03-fall-zeitleiste")

    # A second first contact breaks a rule: the service's 409 is shown above the form.
    await page.locator("#form-erstkontakt button").click()
    assert "first_contact.only_once" in await page.locator("#form-erstkontakt .errors").inner_text()

    # The other services' forms: a placement test (language) and a recognition counselling
    # reach the timeline; a measure (placement) without a residence document is refused by
    # placement's rules, said above its form.
    await page.goto(case_url)
    test = page.locator("#form-einstufungstest")
    await test.locator("select[name=level]").select_option("A2")
    await test.locator("button").click()
    await page.wait_for_url("**meldung=*")
    counselling = page.locator("#form-anerkennungsberatung")
    await counselling.locator("input[name=qualification_title]").fill("Bauingenieurwesen")
    await counselling.locator("input[name=country]").fill("SYR")
    await counselling.locator("button").click()
    await page.wait_for_url("**meldung=*")

    async def other_services_shown() -> bool:
        timeline = await page.locator("#zeitleiste").inner_text()
        if "Einstufungstest" in timeline and "Anerkennungsberatung" in timeline:
            return True
        await page.goto(case_url)
        return False

    await until(
        other_services_shown, "the timeline never showed the language and recognition steps"
    )
    measure = page.locator("#form-massnahme")
    await measure.locator("input[name=provider]").fill("Bildungszentrum Niederrhein")
    await measure.locator("button").click()
    assert "(Regel case." in await page.locator("#form-massnahme .errors").inner_text()

    # The steering page, signed in to the steering role: this month's figures. The six
    # persons over 25 at MG are in Mönchengladbach's caseload; earlier tests' open cases on
    # the shared topics are too, so the page is held to the view's own CSV export: the IP's
    # total it draws is the one the export names, and no bar shows fewer than five persons.
    await page.click("text=Abmelden")
    await sign_in(page, web.url, user="stella.aa", purpose="steering")
    assert page.url.endswith("/steuerung")
    month = datetime.now(UTC).strftime("%Y-%m")
    caseload = page.locator('#diagramme .chart[data-figure="caseload"]')
    exported: dict[str, str] = {}

    async def figures_shown() -> bool:
        await page.goto(f"{web.url}/steuerung?monat={month}")
        answer = await page.request.get(f"{web.url}/steuerung.csv?monat={month}")
        rows = csv.DictReader(io.StringIO(await answer.text()))
        found = next(
            (r for r in rows if r["figure"] == "caseload" and r["label"] == IP_MG_TOTAL), None
        )
        if found is None or not found["value"] or int(found["value"]) < 6:
            return False
        exported.update(found)
        return await caseload.count() == 1

    await until(figures_shown, "the steering page never drew this month's caseload")
    assert exported["total"] == "true"
    shown = int(exported["value"])
    bars = await caseload.locator("rect title").all_text_contents()
    assert f"{IP_MG_TOTAL}: {shown} ({shown} Personen)" in bars
    counted = [int(n) for n in re.findall(r"\((\d+) Personen\)", " ".join(bars))]
    assert counted
    assert min(counted) >= 5  # a cell or total of fewer than five is never drawn as a number
    await shot(page, "04-steuerung")
    await page.close()
    assert {p.name for p in ARTEFACTS.glob("*.png")} >= {
        "01-registrierung-fehler.png",
        "02-fallliste.png",
        "03-fall-zeitleiste.png",
        "04-steuerung.png",
    }
