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
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from contracts.topics import ALL_TOPICS
from deploy.local import demo, devstack
from deploy.local.demo_users import DemoSigner
from deploy.local.identity_provider import CLI_CLIENT, DEMO_PASSWORD, Provider
from deploy.local.principals import (
    PARTNER_FEED,
    platform_principals,
    relay_principal,
    service_principal,
    view_principal,
)
from services.chassis import clock
from services.projections.purpose import ViewId

REPO = Path(__file__).resolve().parents[2]
SERVICES = ("intake", "language", "recognition", "placement")
# The agencies' views besides the Agentur's (which runs as view-aa-mg on 8101) and steering.
AGENCY_VIEWS = tuple(v.value for v in ViewId if v not in {ViewId.AA_MG, ViewId.STEERING})
# Every view, by process name: one kind of process (services.projections.agency_main).
VIEWS = {
    "view-aa-mg": ViewId.AA_MG,
    **{f"view-{view}": ViewId(view) for view in AGENCY_VIEWS},
    "view-steering": ViewId.STEERING,
}
DATABASES = (*SERVICES, *(f"proj_{view.value}" for view in VIEWS.values()), "proj_partners")
DEFAULT_PORTS = {
    "intake": 8001,
    "language": 8002,
    "recognition": 8003,
    "placement": 8004,
    **{name: 8101 + n for n, name in enumerate(VIEWS)},
    "web": 8200,  # the case workers' web pages
    "partners-feed": 8120,  # the partner topics' AsyncAPI page at /
    # relays serve only /metrics
    "intake-relay": 9101,
    "language-relay": 9102,
    "recognition-relay": 9103,
    "placement-relay": 9104,
}


@dataclass(frozen=True)
class RunConfig:
    """Where a run keeps its state and which loopback ports it uses."""

    stack: devstack.StackConfig = field(
        default_factory=lambda: devstack.StackConfig(
            state_dir=REPO / ".local" / "dev", zipkin_port=9411, keycloak_port=18080
        )
    )
    ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))

    @property
    def intake_port(self) -> int:
        return self.ports["intake"]

    @property
    def view_port(self) -> int:
        return self.ports["view-aa-mg"]

    @property
    def state(self) -> Path:
        return self.stack.state_dir


@dataclass(frozen=True)
class Process:
    """A platform process: ``python -m module`` with its settings in the environment."""

    name: str
    module: str
    env: dict[str, str]
    health_url: str | None = None


def _platform(cfg: RunConfig, info: devstack.StackInfo) -> list[Process]:
    # Every process verifies the provider's tokens (info.env() has IP_OIDC_ISSUER, ...); the
    # views and the partner feed fetch person keys with their clients' own tokens.
    common = {**info.env(), "IP_LOG_JSON": "true", "IP_TRACE_EXPORTER": "zipkin"}
    identity = _identity(info)
    processes: list[Process] = []
    for service in SERVICES:
        port = cfg.ports[service]
        own = {f"IP_{service.upper()}_PORT": str(port)}
        own |= info.kafka_env(service_principal(service))
        processes.append(
            Process(
                service, f"services.{service}", {**common, **own}, f"http://127.0.0.1:{port}/health"
            )
        )
        relay = {
            "IP_RELAY_DATABASE_URL": info.database_dsns[service],
            "IP_RELAY_NAME": f"{service}.relay",
            "IP_RELAY_METRICS_PORT": str(cfg.ports[f"{service}-relay"]),
            **info.kafka_env(relay_principal(service)),
        }
        processes.append(Process(f"{service}-relay", "services.chassis.relay", {**common, **relay}))
    for name, view in VIEWS.items():
        port = cfg.ports[name]
        settings = {
            "IP_AGENCY_VIEW": view.value,
            "IP_DB_VIEW": info.database_dsns[f"proj_{view.value}"],
            "IP_AGENCY_PORT": str(port),
            "IP_INTAKE_URL": f"http://127.0.0.1:{cfg.intake_port}",
            **identity.client_env("ip-view-reader"),
            **info.kafka_env(view_principal(view)),
        }
        processes.append(
            Process(
                name,
                "services.projections.agency_main",
                {**common, **settings},
                f"http://127.0.0.1:{port}/health",
            )
        )
    # The network partners' feeds (one per partner that `partners add` registered).
    feed = {
        "IP_INTAKE_URL": f"http://127.0.0.1:{cfg.intake_port}",
        **identity.client_env("ip-partners-feed"),
        **info.kafka_env(PARTNER_FEED),
    }
    port = cfg.ports["partners-feed"]
    feed["IP_PARTNERS_PORT"] = str(port)
    processes.append(
        Process(
            "partners-feed",
            "services.projections.partner_app",
            {**common, **feed},
            f"http://127.0.0.1:{port}/health",
        )
    )
    processes.append(_web(cfg, info))
    return processes


def _identity(info: devstack.StackInfo) -> Provider:
    if info.identity is None:
        raise SystemExit("the run's stack has no identity provider (keycloak_port)")
    return info.identity


def _web(cfg: RunConfig, info: devstack.StackInfo) -> Process:
    """The case workers' web pages, signing in at the stack's Keycloak. It talks HTTP to the
    services, the views and the provider only: no broker, no database in its environment."""
    tracing = {
        k: v for k, v in info.env().items() if k == "IP_ZIPKIN_ENDPOINT" or k.startswith("IP_OIDC_")
    }
    common = {**tracing, "IP_LOG_JSON": "true", "IP_TRACE_EXPORTER": "zipkin"}
    urls = {view: f"http://127.0.0.1:{cfg.ports[name]}" for name, view in VIEWS.items()}
    settings = {
        "IP_WEB_PORT": str(cfg.ports["web"]),
        "IP_WEB_PUBLIC_URL": f"http://127.0.0.1:{cfg.ports['web']}",
        "IP_WEB_VIEW_URLS": json.dumps(
            {view.value: url for view, url in urls.items() if view is not ViewId.STEERING}
        ),
        "IP_WEB_STEERING_URL": urls[ViewId.STEERING],
        **{f"IP_{s.upper()}_URL": f"http://127.0.0.1:{cfg.ports[s]}" for s in SERVICES},
    }
    return Process(
        "web", "services.web", {**common, **settings}, f"http://127.0.0.1:{cfg.ports['web']}/health"
    )


def _seed_demo_data(cfg: RunConfig, identity: Provider) -> None:
    """The demo persons, through the services' APIs, signed by the realm's demo users; a
    second run replays and adds nothing."""
    urls = {s: f"http://127.0.0.1:{cfg.ports[s]}" for s in SERVICES}
    print("  seeding demo data ...", flush=True)
    try:
        signer = DemoSigner(identity.token_url)
        seeded = demo.seed(
            urls, clock.today(), signer=signer
        )  # Germany's day, as the services judge
    except (demo.DemoDataError, OSError, httpx.HTTPError) as error:
        print(f"  demo data refused (the platform runs on): {error}", flush=True)
        return
    print(f"  {demo.describe(seeded)}", flush=True)


def _pid_file(cfg: RunConfig, name: str) -> Path:
    return cfg.state / "pids" / f"{name}.pid"


def _start(cfg: RunConfig, process: Process) -> subprocess.Popen[bytes]:
    logs = cfg.state / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    _pid_file(cfg, process.name).parent.mkdir(parents=True, exist_ok=True)
    with (logs / f"{process.name}.log").open("ab") as log:
        child = subprocess.Popen(
            [sys.executable, "-m", process.module],
            cwd=REPO,
            env={**os.environ, **process.env},
            stdout=log,
            stderr=log,
            start_new_session=True,  # Ctrl-C reaches us; we stop the children in order
        )
    _pid_file(cfg, process.name).write_text(f"{child.pid}\n{process.module}\n")
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


def _gone(pid: int) -> bool:
    """True once ``pid`` has exited (a zombie waiting for its parent counts as exited)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state in {"Z", "X"}


def _stop_pid(cfg: RunConfig, name: str, child: subprocess.Popen[bytes] | None = None) -> bool:
    """Stop one platform process by its PID file, if it is still the process we started."""
    path = _pid_file(cfg, name)
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
    deadline = time.monotonic() + 15
    while not _gone(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if not _gone(pid):
        os.kill(pid, signal.SIGKILL)
    if child is not None:
        child.wait()  # reap our own child
    print(f"  stopped {name} (pid {pid})", flush=True)
    return True


def stop_everything(cfg: RunConfig) -> None:
    """Stop the platform processes and the dev stack that a run left behind."""
    pids = cfg.state / "pids"
    for pid_file in sorted(pids.glob("*.pid")) if pids.exists() else []:
        _stop_pid(cfg, pid_file.stem)
    devstack.down(cfg.stack)


def run(cfg: RunConfig) -> int:
    print("Integration Points: starting the local platform (Ctrl-C stops everything)", flush=True)
    info = devstack.up(
        cfg.stack,
        databases=DATABASES,
        topics=[devstack.TopicSpec(name) for name in ALL_TOPICS],
        principals=platform_principals(),
    )
    processes = _platform(cfg, info)
    (cfg.state / "ports.json").write_text(json.dumps(cfg.ports, indent=2))  # for `make status`
    children: dict[str, subprocess.Popen[bytes]] = {}
    stopping = False

    def request_stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        for process in processes:
            children[process.name] = _start(cfg, process)
            _wait_healthy(process, children[process.name])
        _seed_demo_data(cfg, _identity(info))
        _announce(cfg, info)
        while not stopping:
            for name, child in children.items():
                if child.poll() is not None:
                    print(f"{name} exited with {child.returncode}; stopping", flush=True)
                    stopping = True
            time.sleep(0.5)
    finally:
        print("\nstopping ...", flush=True)
        for name in reversed(list(children)):
            _stop_pid(cfg, name, children[name])
        if info.started:
            devstack.down(cfg.stack)
    return 0


def _announce(cfg: RunConfig, info: devstack.StackInfo) -> None:
    print(announcement(cfg, info), flush=True)


def announcement(cfg: RunConfig, info: devstack.StackInfo, python: str = sys.executable) -> str:
    """What a run prints when it is ready: addresses and commands to paste from anywhere
    (this interpreter by its path: a bare ``python`` is not the venv's outside it)."""
    identity = _identity(info)
    person = json.dumps(demo.EXAMPLE_REGISTRATION, ensure_ascii=False)
    relay_ports = ", ".join(str(cfg.ports[f"{s}-relay"]) for s in SERVICES)
    agency_ports = ", ".join(f"{view} {cfg.ports[f'view-{view}']}" for view in AGENCY_VIEWS)
    feed_url = f"http://127.0.0.1:{cfg.ports['partners-feed']}"  # where partners fetch keys
    return f"""
Ready.
  Kafka                     {info.kafka_bootstrap}
  PostgreSQL                {info.admin_dsn.rsplit("@", 1)[1]}
  intake API                http://127.0.0.1:{cfg.intake_port}/docs
  language API              http://127.0.0.1:{cfg.ports["language"]}/docs
  recognition API           http://127.0.0.1:{cfg.ports["recognition"]}/docs
  placement API             http://127.0.0.1:{cfg.ports["placement"]}/docs
  Agentur MG view API       http://127.0.0.1:{cfg.view_port}/docs
  agencies' views (/docs)   {agency_ports}
  steering figures          http://127.0.0.1:{cfg.ports["view-steering"]}/docs
  web pages (case workers)  http://127.0.0.1:{cfg.ports["web"]}/  (sign in at Keycloak as a
                              demo user, password {DEMO_PASSWORD!r}: anna.aa Agentur MG,
                              jonas.jcmg Jobcenter MG, ralf.jcrkn Jobcenter RKN, abel.mg ABH MG,
                              sofia.mg Sozialamt MG, ina.iq IQ, sven.jcmg steering, dirk.jcmg
                              data protection; all in deploy/local/keycloak/README.md)
  identity provider         {identity.issuer}
                              (admin console {identity.base_url}/admin: admin, password in
                              {cfg.state}/secrets.json)
  tracing dashboard         {info.zipkin_url or "(none)"}
  metrics                   /metrics on every API; relays on ports {relay_ports}
  status                    make status
  a read token              {python} -m services.chassis.token --user anna.aa \\
                              --purpose counselling
                              (password {DEMO_PASSWORD!r}; the provider's client {CLI_CLIENT})
                            (steering: --user sven.jcmg --purpose steering)
  network partners          {feed_url}/ (their topics; /keys: their keys)
  add a partner             set -a; . {cfg.state}/stack.env; set +a
                            IP_PARTNERS_CREDENTIALS_DIR={cfg.state}/partners \\
                              IP_PARTNERS_PUBLIC_URL={feed_url} \\
                              {python} -m services.projections.partners add iq_counselling \\
                              --purpose recognition --categories recognition
                            {python} {REPO}/examples/partner_consumer.py \\
                              {cfg.state}/partners/iq_counselling.json
                            (it prints the demo's recognition counsellings its consents allow;
                            more: README, "Network partners")

Try it (every command carries the signed-in person's token: docs/authorization.md):
  TOKEN=$(IP_TOKEN_PASSWORD={DEMO_PASSWORD} {python} -m services.chassis.token \\
    --issuer {identity.issuer} --user anna.aa --purpose counselling)
  CASE=$(curl -s -X POST http://127.0.0.1:{cfg.intake_port}/cases \\
    -H 'Content-Type: application/json' -H "Authorization: Bearer $TOKEN" \\
    -d '{person}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["case_id"])')
  curl -s -X POST http://127.0.0.1:{cfg.intake_port}/cases/$CASE/first-contact \\
    -H 'Content-Type: application/json' -H "Authorization: Bearer $TOKEN" \\
    -d '{{"contacted_on": "2016-02-09", "interpreter_language": "ar"}}'
  sleep 1; curl -s -H "Authorization: Bearer $TOKEN" http://127.0.0.1:{cfg.view_port}/cases/$CASE
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m deploy.local.run",
        description="Run the Integration Points platform locally: Kafka, PostgreSQL, Zipkin, "
        "the four services with their outbox relays, every agency's view and the steering "
        "view. Ctrl-C stops it.",
    )
    parser.add_argument(
        "--stop", action="store_true", help="stop what an earlier run left running, by PID file"
    )
    defaults = RunConfig()
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=defaults.state,
        help=f"data, logs, PID files and secrets (default: {defaults.state})",
    )
    for option, value, what in (
        ("kafka-port", defaults.stack.kafka_port, "Kafka broker"),
        ("controller-port", defaults.stack.controller_port, "Kafka KRaft controller"),
        ("pg-port", defaults.stack.pg_port, "PostgreSQL"),
        ("zipkin-port", defaults.stack.zipkin_port, "the Zipkin tracing dashboard"),
        ("keycloak-port", defaults.stack.keycloak_port, "Keycloak (health on the next port)"),
    ):
        parser.add_argument(
            f"--{option}",
            type=int,
            default=value,
            metavar="PORT",
            help=f"{what} (default: {value})",
        )
    parser.add_argument(
        "--port",
        action="append",
        default=[],
        metavar="NAME=PORT",
        help="HTTP port of a process: "
        + ", ".join(f"{name}={port}" for name, port in DEFAULT_PORTS.items())
        + " (the defaults)",
    )
    args = parser.parse_args(argv)
    ports = dict(DEFAULT_PORTS)
    for item in args.port:
        name, _, port = item.partition("=")
        if name not in ports or not port.isdigit():
            parser.error(f"--port takes NAME=PORT with NAME one of {', '.join(ports)}")
        ports[name] = int(port)
    cfg = RunConfig(
        stack=devstack.StackConfig(
            state_dir=args.state_dir,
            kafka_port=args.kafka_port,
            controller_port=args.controller_port,
            pg_port=args.pg_port,
            zipkin_port=args.zipkin_port,
            keycloak_port=args.keycloak_port,
        ),
        ports=ports,
    )
    if args.stop:
        stop_everything(cfg)
        return 0
    return run(cfg)


if __name__ == "__main__":
    sys.exit(main())
