"""``make run``'s launcher: everything starts, the README's example works, Ctrl-C stops all."""

from __future__ import annotations

import asyncio
import os
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

from deploy.local.run import AGENCY_VIEWS
from tests.conftest import free_port
from tests.e2e.harness import REPO

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


@pytest.fixture
def state_dir() -> Iterator[Path]:
    # Not under pytest's tmp_path: pytest resets /tmp/pytest-of-<user> to 0700, which locks
    # the postgres system user out of a server started there as root.
    path = Path(tempfile.mkdtemp(prefix="ip-run-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in {"Z", "X"}


async def test_run_serves_the_example_and_stops_everything_on_ctrl_c(state_dir: Path) -> None:
    """The launcher prints its URLs, the README's register-then-read example works against it,
    and SIGINT stops every process it started, broker and database included."""
    stack_ports = {name: free_port() for name in ("kafka", "controller", "pg", "zipkin")}
    services = ("intake", "language", "recognition", "placement")
    views = tuple(f"view-{view}" for view in AGENCY_VIEWS)
    relays = tuple(f"{service}-relay" for service in services)
    processes = (*services, "view", *views, *relays, "partners-feed")
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
        deadline = time.monotonic() + 300  # nineteen processes on a loaded machine
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
            )
            case_id = registered.json()["case_id"]
            await client.post(
                f"{intake}/cases/{case_id}/first-contact", json={"contacted_on": "2016-02-09"}
            )
            view = f"http://127.0.0.1:{ports['view']}/cases/{case_id}"
            for _ in range(300):
                response = await client.get(view)
                if response.status_code == 200 and response.json()["first_contact_on"]:
                    break
                await asyncio.sleep(0.1)
            intake_metrics = (await client.get(f"{intake}/metrics")).text
            partners_page = await client.get(f"http://127.0.0.1:{ports['partners-feed']}/")
            assert "ip.partner.{partner}.v1" in partners_page.text
            relay_metrics = (
                await client.get(f"http://127.0.0.1:{ports['intake-relay']}/metrics")
            ).text
            zipkin = await client.get(f"http://127.0.0.1:{stack_ports['zipkin']}/health")
        status = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "deploy.local.status", "--state-dir", str(state_dir)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert response.json()["days_allocation_to_first_contact"] == 8
        assert 'ip_commands_total{command="RegisterPerson",result="accepted"} 1.0' in (
            intake_metrics
        )
        assert 'ip_relay_published_total{relay="intake.relay"}' in relay_metrics
        assert zipkin.status_code == 200
        assert status.returncode == 0, status.stdout + status.stderr
        assert "view-aa-mg lag" in status.stdout
        assert "intake-relay" in status.stdout
    finally:
        launcher.send_signal(signal.SIGINT)
        remaining = await asyncio.to_thread(launcher.stdout.read)  # until the launcher exits
        await asyncio.to_thread(launcher.wait, timeout=60)

    assert launcher.returncode == 0, remaining
    assert f"http://127.0.0.1:{ports['intake']}/docs" in remaining
    # 4 services, 4 relays, the Agentur's view, the agencies' views, the partners' feed,
    # broker, Zipkin
    assert len(started) == 12 + len(AGENCY_VIEWS)
    assert not [pid for pid in started if _alive(pid)]
    assert not (state_dir / "postgres" / "pgdata" / "postmaster.pid").exists()
