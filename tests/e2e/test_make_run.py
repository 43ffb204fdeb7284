"""``make run``'s launcher: everything starts, the README's example works, Ctrl-C stops all."""

from __future__ import annotations

import asyncio
import html
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from deploy.local import demo
from deploy.local.identity_provider import DEMO_PASSWORD, Provider
from deploy.local.run import VIEWS
from tests.conftest import free_port
from tests.e2e.harness import REPO, registration
from tests.identity import Tokens

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


@pytest.fixture
def state_dir() -> Iterator[Path]:
    # Not under pytest's tmp_path: pytest resets /tmp/pytest-of-<user> to 0700, which locks
    # the postgres system user out of a server started there as root.
    path = Path(tempfile.mkdtemp(prefix="ip-run-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


async def _signed_in_at_the_provider(client: httpx.AsyncClient, web: str, user: str) -> None:
    """Sign ``user`` in to the web through the run's Keycloak as a browser would, step by
    step: the web sends the client to the provider's login form, the form is filled in and
    sent, the provider sends the client back with a code, and the web keeps its session
    cookie in ``client``. (Keycloak's own cookies are ``Secure`` RFC 2965 cookies, which
    httpx's jar keeps from no http host: they are carried by hand, as a browser carries
    them on loopback.)"""
    start = await client.get(f"{web}/anmelden/start", params={"zweck": "placement"})
    assert start.status_code == 303, start.text
    login = await client.get(start.headers["location"])
    provider_cookies = "; ".join(
        header.split(";", 1)[0] for header in login.headers.get_list("set-cookie")
    )
    form = re.search(r'<form[^>]*id="kc-form-login"[^>]*action="([^"]+)"', login.text)
    assert form is not None, login.text[:2000]
    sent = await client.post(
        html.unescape(form.group(1)),
        data={"username": user, "password": DEMO_PASSWORD, "credentialId": ""},
        headers={"Cookie": provider_cookies},
    )
    assert sent.status_code == 302, sent.text[:2000]  # back to the web with a code
    back = await client.get(sent.headers["location"])
    assert back.status_code == 303, back.text
    assert back.headers["location"].endswith("/faelle"), back.headers["location"]


async def _jobcenter_caseload(web: str) -> str:
    """The Jobcenter MG's caseload page, once its view holds the handed-over demo cases."""
    async with httpx.AsyncClient(timeout=30) as browser:
        await _signed_in_at_the_provider(browser, web, "jonas.jcmg")
        page = ""
        for _ in range(300):
            page = (await browser.get(f"{web}/faelle")).text
            if "Youssef, Mariam" in page and "Al-Ali, Hussein" in page:
                break
            await asyncio.sleep(0.2)
        return page


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in {"Z", "X"}


async def test_run_serves_the_example_and_stops_everything_on_ctrl_c(state_dir: Path) -> None:
    """The launcher prints its URLs, the README's register-then-read example works against it
    (with a signed token), the steering view counts the registration, and SIGINT stops every
    process it started, broker and database included."""
    names = ("kafka", "controller", "pg", "zipkin", "keycloak")  # Keycloak's health: the next
    stack_ports = {name: free_port() for name in names}
    services = ("intake", "language", "recognition", "placement")
    relays = tuple(f"{service}-relay" for service in services)
    processes = (*services, *VIEWS, "web", *relays, "partners-feed")
    ports = {name: free_port() for name in processes}
    launcher = subprocess.Popen(
        [sys.executable, "-m", "deploy.local.run", "--state-dir", str(state_dir)]
        + [f"--{name}-port={port}" for name, port in stack_ports.items()]
        + [f"--port={name}={port}" for name, port in ports.items()],
        cwd=REPO,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert launcher.stdout is not None
    printed: list[str] = []
    try:
        # Keycloak's first start and the demo data come before "Ready.".
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            line = await asyncio.to_thread(launcher.stdout.readline)
            printed.append(line)
            if line.startswith("Ready.") or not line:
                break
        assert printed[-1].startswith("Ready."), "".join(printed)
        started = {
            int(path.read_text().split()[0]) for path in (state_dir / "pids").glob("*.pid")
        } | {int(path.read_text()) for path in state_dir.glob("*.pid")}

        async with httpx.AsyncClient(timeout=10) as client:
            intake = f"http://127.0.0.1:{ports['intake']}"
            # The run's Keycloak issues the demo users' tokens, as `make run` prints; the
            # commands are the Agentur's case worker's.
            tokens = Tokens(Provider(f"http://127.0.0.1:{stack_ports['keycloak']}", "", {}))
            signed = tokens.bearer("anna.aa", purpose=None)
            registered = await client.post(
                f"{intake}/cases",
                json={
                    "given_name": "Amina",
                    "family_name": "Haddad",
                    "date_of_birth": "1989-03-14",
                    "nationality": "SYR",
                    "site": "MG",
                    "town": "Mönchengladbach",
                    "allocated_on": "2016-02-01",
                },
                headers=signed,
            )
            case_id = registered.json()["case_id"]
            await client.post(
                f"{intake}/cases/{case_id}/first-contact",
                json={"contacted_on": "2016-02-09"},
                headers=signed,
            )
            view = f"http://127.0.0.1:{ports['view-aa-mg']}/cases/{case_id}"
            reader = tokens.bearer("anna.aa")
            for _ in range(1200):  # two minutes: twenty processes share a loaded machine
                response = await client.get(view, headers=reader)
                if response.status_code == 200 and len(response.json()["events"]) == 2:
                    break
                await asyncio.sleep(0.1)
            steering = f"http://127.0.0.1:{ports['view-steering']}"
            steerer = tokens.bearer("sven.jcmg", "steering")
            for _ in range(300):
                months = await client.get(f"{steering}/months", headers=steerer)
                if "2016-02" in months.json()["months"]:
                    break
                await asyncio.sleep(0.1)
            figures = await client.get(
                f"{steering}/figures", params={"month": "2016-02"}, headers=steerer
            )
            unsigned = await client.get(view)
            intake_metrics = (await client.get(f"{intake}/metrics")).text
            partners_page = await client.get(f"http://127.0.0.1:{ports['partners-feed']}/")
            assert "ip.partner.{partner}.v1" in partners_page.text
            relay_metrics = (
                await client.get(f"http://127.0.0.1:{ports['intake-relay']}/metrics")
            ).text
            zipkin = await client.get(f"http://127.0.0.1:{stack_ports['zipkin']}/health")
            handed_over = await _jobcenter_caseload(f"http://127.0.0.1:{ports['web']}")
        again = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "deploy.local.demo"]
            + [f"--{s}-url=http://127.0.0.1:{ports[s]}" for s in services]
            + [f"--token-url={tokens.provider.token_url}"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        status = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "deploy.local.status", "--state-dir", str(state_dir)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        person = registration(response.json())
        assert person is not None
        assert person["given_name"] == "Amina"
        contact = next(
            e for e in response.json()["events"] if e["type"] == "intake.first_contact_made"
        )
        assert contact["data"]["contacted_on"] == "2016-02-09"
        assert unsigned.status_code == 401
        allocated = [  # one person in the cell: suppressed
            r
            for r in figures.json()["rows"]
            if (r["figure"], r["site"], r["age_band"])
            == ("intake.allocation", "MG", "25 und älter")
            and r["rechtskreis"] == "SGB III"
        ]
        assert [(r["value"], r["suppressed"]) for r in allocated] == [(None, True)]
        # The demo persons and the README's example, each registered once.
        registered_once = len(demo.PERSONS) + 1
        assert (
            f'ip_commands_total{{command="RegisterPerson",result="accepted"}} {registered_once}.0'
            in intake_metrics
        )
        # A second seeding (as a second `make run` does) replays every command, adds none.
        assert again.returncode == 0, again.stderr
        assert f"demo data: {len(demo.PERSONS)} persons" in again.stdout
        assert "(0 new, " in again.stdout
        # The web pages show the Jobcenter MG the demo cases it took over, in SGB II.
        assert "Al-Ali, Hussein" in handed_over
        assert "Youssef, Mariam" in handed_over
        assert "Saleh, Khaled" not in handed_over  # Neuss: Jobcenter Rhein-Kreis Neuss's
        assert "SGB II" in handed_over
        assert "web" in status.stdout
        assert 'ip_relay_published_total{relay="intake.relay"}' in relay_metrics
        assert zipkin.status_code == 200
        assert status.returncode == 0, status.stdout + status.stderr
        assert "view-aa-mg lag" in status.stdout
        assert "view-steering lag" in status.stdout
        assert "intake-relay" in status.stdout
    finally:
        launcher.send_signal(signal.SIGINT)
        remaining = await asyncio.to_thread(launcher.stdout.read)  # until the launcher exits
        await asyncio.to_thread(launcher.wait, timeout=60)

    assert launcher.returncode == 0, remaining
    assert f"http://127.0.0.1:{ports['intake']}/docs" in remaining
    assert "demo data: " in "".join(printed)
    # 4 services, 4 relays, every view (the Agentur's, the agencies', steering), the web,
    # the partners' feed, broker, Zipkin, Keycloak
    assert len(started) == 13 + len(VIEWS)
    assert not [pid for pid in started if _alive(pid)]
    assert not (state_dir / "postgres" / "pgdata" / "postmaster.pid").exists()
