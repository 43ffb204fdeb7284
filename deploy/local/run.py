"""``make run``: the whole platform on this machine, in the foreground.

Starts the dev stack (Kafka, PostgreSQL), then every platform process as a child with its
own log file and PID file, prints where everything listens, and on Ctrl-C (or SIGTERM)
stops the children and whatever part of the stack it started. ``--stop`` (``make stop``)
stops what a run left behind, by PID file: platform processes first, then the stack.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from contracts.topics import DOMAIN_TOPICS
from deploy.local import devstack

REPO = Path(__file__).resolve().parents[2]
STATE = REPO / ".local" / "dev"
DATABASES = ("intake", "language", "recognition", "placement", "proj_aa_mg")
INTAKE_PORT = 8001
VIEW_PORT = 8101


@dataclass(frozen=True)
class Process:
    """A platform process: ``python -m module`` with its settings in the environment."""

    name: str
    module: str
    env: dict[str, str]
    health_url: str | None = None


def _platform(info: devstack.StackInfo, reader_token: str) -> list[Process]:
    common = {**info.env(), "IP_LOG_JSON": "true"}
    return [
        Process(
            "intake",
            "services.intake",
            {
                **common,
                "IP_INTAKE_PORT": str(INTAKE_PORT),
                "IP_INTAKE_KEY_READERS": json.dumps({"proj_aa_mg": reader_token}),
            },
            f"http://127.0.0.1:{INTAKE_PORT}/health",
        ),
        Process(
            "intake-relay",
            "services.chassis.relay",
            {
                **common,
                "IP_RELAY_DATABASE_URL": info.database_dsns["intake"],
                "IP_RELAY_NAME": "intake.relay",
            },
        ),
        Process(
            "view-aa-mg",
            "services.projections",
            {
                **common,
                "IP_VIEW_PORT": str(VIEW_PORT),
                "IP_INTAKE_URL": f"http://127.0.0.1:{INTAKE_PORT}",
                "IP_KEY_READER_TOKEN": reader_token,
            },
            f"http://127.0.0.1:{VIEW_PORT}/health",
        ),
    ]


def _reader_token() -> str:
    """The view's token for intake's key API: generated once per machine, never committed."""
    path = STATE / "reader-token"
    if not path.exists():
        STATE.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(32))
        path.chmod(0o600)
    return path.read_text().strip()


def _pid_file(name: str) -> Path:
    return STATE / "pids" / f"{name}.pid"


def _start(process: Process) -> subprocess.Popen[bytes]:
    logs = STATE / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    _pid_file(process.name).parent.mkdir(parents=True, exist_ok=True)
    with (logs / f"{process.name}.log").open("ab") as log:
        child = subprocess.Popen(
            [sys.executable, "-m", process.module],
            cwd=REPO,
            env={**os.environ, **process.env},
            stdout=log,
            stderr=log,
            start_new_session=True,  # Ctrl-C reaches us; we stop the children in order
        )
    _pid_file(process.name).write_text(f"{child.pid}\n{process.module}\n")
    print(
        f"  {process.name:<13} pid {child.pid:<7} log {logs / (process.name + '.log')}", flush=True
    )
    return child


def _wait_healthy(process: Process, child: subprocess.Popen[bytes], within: float = 60) -> None:
    if process.health_url is None:
        return
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise SystemExit(f"{process.name} exited with {child.returncode}; see its log")
        try:
            with urllib.request.urlopen(process.health_url, timeout=2) as response:  # noqa: S310  # loopback URL we built
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise SystemExit(f"{process.name} did not answer {process.health_url} within {within} s")


def _stop_pid(name: str) -> bool:
    """Stop one platform process by its PID file, if it is still the process we started."""
    path = _pid_file(name)
    if not path.exists():
        return False
    pid_text, _, module = path.read_text().partition("\n")
    path.unlink()
    pid = int(pid_text)
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    if module.strip().encode() not in cmdline:
        return False  # the PID was reused by something that is not ours
    os.kill(pid, signal.SIGTERM)
    for _ in range(150):
        if not Path(f"/proc/{pid}").exists():
            break
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
    print(f"  stopped {name} (pid {pid})", flush=True)
    return True


def stop_everything() -> None:
    """Stop the platform processes and the dev stack that a run left behind."""
    pids = STATE / "pids"
    for pid_file in sorted(pids.glob("*.pid")) if pids.exists() else []:
        _stop_pid(pid_file.stem)
    devstack.down(devstack.StackConfig(state_dir=STATE))


def run() -> int:
    print("Integration Points: starting the local platform (Ctrl-C stops everything)", flush=True)
    info = devstack.up(
        devstack.StackConfig(state_dir=STATE),
        databases=DATABASES,
        topics=[devstack.TopicSpec(name) for name in DOMAIN_TOPICS],
    )
    processes = _platform(info, _reader_token())
    children: dict[str, subprocess.Popen[bytes]] = {}
    stopping = False

    def request_stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        for process in processes:
            children[process.name] = _start(process)
            _wait_healthy(process, children[process.name])
        _announce(info)
        while not stopping:
            for name, child in children.items():
                if child.poll() is not None:
                    print(f"{name} exited with {child.returncode}; stopping", flush=True)
                    stopping = True
            time.sleep(0.5)
    finally:
        print("\nstopping ...", flush=True)
        for name in reversed(list(children)):
            _stop_pid(name)
        if info.started:
            devstack.down(devstack.StackConfig(state_dir=STATE))
    return 0


def _announce(info: devstack.StackInfo) -> None:
    person = json.dumps(
        {
            "given_name": "Amina",
            "family_name": "Haddad",
            "date_of_birth": "1989-03-14",
            "nationality": "SYR",
            "languages": ["ar"],
            "site": "MG",
            "town": "Mönchengladbach",
            "allocated_on": "2016-02-01",
        },
        ensure_ascii=False,
    )
    print(
        f"""
Ready.
  Kafka                     {info.kafka_bootstrap}
  PostgreSQL                {info.admin_dsn.rsplit("@", 1)[1]}
  intake API                http://127.0.0.1:{INTAKE_PORT}/docs
  Agentur MG view API       http://127.0.0.1:{VIEW_PORT}/docs

Try it:
  CASE=$(curl -s -X POST http://127.0.0.1:{INTAKE_PORT}/cases -H 'Content-Type: application/json' \\
    -d '{person}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["case_id"])')
  curl -s -X POST http://127.0.0.1:{INTAKE_PORT}/cases/$CASE/first-contact \\
    -H 'Content-Type: application/json' \\
    -d '{{"contacted_on": "2016-02-09", "interpreter_language": "ar"}}'
  sleep 1; curl -s http://127.0.0.1:{VIEW_PORT}/cases/$CASE
""",
        flush=True,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m deploy.local.run",
        description="Run the Integration Points platform locally: Kafka, PostgreSQL, intake, "
        "its outbox relay and the Agentur für Arbeit Mönchengladbach view. Ctrl-C stops it.",
    )
    parser.add_argument(
        "--stop", action="store_true", help="stop what an earlier run left running, by PID file"
    )
    args = parser.parse_args(argv)
    if args.stop:
        stop_everything()
        return 0
    return run()


if __name__ == "__main__":
    sys.exit(main())
