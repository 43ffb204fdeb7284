"""The local OpenID Connect provider: Keycloak (Maven Central's ``keycloak-quarkus-dist``),
on loopback, with the realm kept in ``deploy/local/keycloak/realm-integration-points.json``.

Keycloak 26 needs Java 21 or newer while the machine's default ``java`` may be older (Kafka and
Zipkin run on 17): :func:`java_home` picks ``JAVA_HOME`` when it is new enough, else the newest
JDK >= 21 under ``/usr/lib/jvm``, and fails naming both places otherwise.

Each stack unpacks the distribution into its own state dir (``<state>/keycloak/``), because
Keycloak writes its build (``lib/quarkus``) and its dev database (H2, ``data/h2``) into its
home: two stacks sharing one unpacked copy would rebuild it under each other. ``start-dev``
(HTTP, dev database, no TLS) is acceptable here because it listens on 127.0.0.1 only. The
realm is imported at start when it does not exist yet (``--import-realm``); its client
secrets are ``${...}`` placeholders that Keycloak fills from the environment, generated once
into the stack's ``secrets.json`` like every other secret of the stack.

Layout::

    <state>/keycloak.pid                    PID of Keycloak's JVM
    <state>/keycloak/keycloak-<version>/    the unpacked distribution (its home)
    <state>/keycloak/keycloak.log           its stdout/stderr
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from deploy.local.devstack import (
    _SECRETS_LOCK,
    HOST,
    DevStackError,
    StackConfig,
    _is_ours,
    _load_secrets,
    _read_pid,
    _require_port_free,
    _save_secrets,
    _say,
    _secrets_path,
    _tail,
    maven_artifact,
    stop_by_pidfile,
)
from services.chassis.kafka_admin import new_password

KEYCLOAK_VERSION: Final = "26.5.6"
KEYCLOAK_ARTIFACT: Final = f"org.keycloak:keycloak-quarkus-dist:{KEYCLOAK_VERSION}:zip"
REALM: Final = "integration-points"
REALM_FILE: Final = Path(__file__).resolve().parent / "keycloak" / f"realm-{REALM}.json"
ADMIN_USER: Final = "admin"  # the master realm's administrator (admin console, admin REST API)
# The realm's confidential clients: their secrets are generated per stack (placeholders in
# the realm file, filled from these environment variables at import).
SERVICE_CLIENTS: Final = ("ip-view-reader", "ip-partners-feed")
WEB_CLIENT: Final = "ip-web"
CLI_CLIENT: Final = "ip-cli"
AUDIENCE: Final = "ip-platform"
DEMO_PASSWORD: Final = "demo"  # noqa: S105  # every demo user's password: a dev realm on loopback only
MIN_JAVA: Final = 21
JVM_DIR: Final = Path("/usr/lib/jvm")
# A first start builds the server and imports the realm: ~60 s on two idle cores, several
# minutes when the machine is loaded; later starts take 10-20 s.
START_TIMEOUT_S: Final = 600.0
STOP_TIMEOUT_S: Final = 30.0


@dataclass(frozen=True)
class Provider:
    """How to reach a running provider: its realm's issuer and the admin's login."""

    base_url: str
    admin_password: str
    client_secrets: dict[str, str]

    @property
    def issuer(self) -> str:
        return f"{self.base_url}/realms/{REALM}"

    @property
    def token_url(self) -> str:
        return f"{self.issuer}/protocol/openid-connect/token"

    @property
    def jwks_url(self) -> str:
        return f"{self.issuer}/protocol/openid-connect/certs"

    def oidc_env(self) -> dict[str, str]:
        """``IP_OIDC_*`` settings of a process that verifies this provider's tokens."""
        return {
            "IP_OIDC_ISSUER": self.issuer,
            "IP_OIDC_AUDIENCE": AUDIENCE,
            "IP_OIDC_JWKS_URL": self.jwks_url,
        }

    def verifier_settings(self) -> dict[str, Any]:
        """The ``oidc_*`` fields of a settings class that verifies this provider's tokens."""
        return {key.removeprefix("IP_").lower(): value for key, value in self.oidc_env().items()}

    def client_settings(self, client_id: str) -> dict[str, Any]:
        """The ``oidc_*`` fields of a settings class that calls as service client ``client_id``."""
        return {
            key.removeprefix("IP_").lower(): value
            for key, value in self.client_env(client_id).items()
        }

    def client_env(self, client_id: str) -> dict[str, str]:
        """``IP_OIDC_CLIENT_*`` settings of a process that calls as service client ``client_id``."""
        return {
            "IP_OIDC_TOKEN_URL": self.token_url,
            "IP_OIDC_CLIENT_ID": client_id,
            "IP_OIDC_CLIENT_SECRET": self.client_secrets[client_id],
        }


def _java_version(home: Path) -> int | None:
    """The feature version of the JDK/JRE at ``home`` (from its ``release`` file)."""
    try:
        release = (home / "release").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    match = re.search(r'^JAVA_VERSION="(\d+)', release, re.MULTILINE)
    if match is None or not (home / "bin" / "java").is_file():
        return None
    return int(match.group(1))


def java_home(jvm_dir: Path = JVM_DIR) -> Path:
    """A Java home of version >= 21: ``JAVA_HOME`` if new enough, else the newest in ``jvm_dir``."""
    configured = os.environ.get("JAVA_HOME")
    if configured and (_java_version(Path(configured)) or 0) >= MIN_JAVA:
        return Path(configured)
    found = [
        (version, home)
        for home in (sorted(jvm_dir.iterdir()) if jvm_dir.is_dir() else [])
        if (version := _java_version(home)) is not None and version >= MIN_JAVA
    ]
    if not found:
        raise DevStackError(
            f"keycloak: Keycloak {KEYCLOAK_VERSION} needs Java {MIN_JAVA} or newer; none found in"
            f" JAVA_HOME ({configured or 'unset'}) or {jvm_dir}. Install one (e.g. a Temurin 25"
            " JDK) or point JAVA_HOME at it"
        )
    return max(found)[1]


def zip_path(cache_dir: Path) -> Path:
    return cache_dir / "keycloak" / f"keycloak-quarkus-dist-{KEYCLOAK_VERSION}.zip"


def fetch(cache_dir: Path) -> Path:
    """Copy Keycloak's distribution zip from Maven Central into the cache (once)."""
    return maven_artifact("keycloak", KEYCLOAK_ARTIFACT, zip_path(cache_dir), cache_dir)


def _home(state_dir: Path) -> Path:
    return state_dir / "keycloak" / f"keycloak-{KEYCLOAK_VERSION}"


def _unpack(archive: Path, state_dir: Path) -> Path:
    """The stack's own copy of the distribution (unpacked once)."""
    home = _home(state_dir)
    if (home / ".complete").exists():
        return home
    staging = home.parent / f".unpack-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    with zipfile.ZipFile(archive) as dist:
        dist.extractall(staging)
    shutil.rmtree(home, ignore_errors=True)
    (staging / home.name).replace(home)
    shutil.rmtree(staging, ignore_errors=True)
    (home / ".complete").write_text(KEYCLOAK_VERSION + "\n", encoding="utf-8")
    return home


def secrets_of(cfg: StackConfig) -> tuple[str, dict[str, str]]:
    """The admin's password and the service clients' secrets, generated once per stack."""
    with _SECRETS_LOCK:
        data = _load_secrets(cfg)
        section: dict[str, str] = data.setdefault("keycloak", {})
        missing = [n for n in (ADMIN_USER, *SERVICE_CLIENTS) if n not in section]
        for name in missing:
            section[name] = new_password()
        if missing or not _secrets_path(cfg).exists():
            _save_secrets(cfg, data)
        return section[ADMIN_USER], {c: section[c] for c in SERVICE_CLIENTS}


def _secret_env(client_id: str) -> str:
    return "IP_KC_SECRET_" + client_id.upper().replace("-", "_")


def _pidfile(state_dir: Path) -> Path:
    return state_dir / "keycloak.pid"


def running_pid(state_dir: Path) -> int | None:
    pid = _read_pid(_pidfile(state_dir))
    return pid if pid is not None and _is_ours(pid, str(state_dir)) else None


def _ready(management_port: int) -> bool:
    try:
        with urllib.request.urlopen(  # a loopback URL we built
            f"http://{HOST}:{management_port}/health/ready", timeout=2
        ) as answer:
            return bool(answer.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def provider(cfg: StackConfig, port: int) -> Provider:
    """The provider of a stack whose Keycloak listens on ``port``."""
    admin_password, client_secrets = secrets_of(cfg)
    return Provider(f"http://{HOST}:{port}", admin_password, client_secrets)


def up(cfg: StackConfig, port: int, management_port: int) -> bool:
    """Start Keycloak on 127.0.0.1:``port`` (health on ``management_port``) unless it runs
    already; True if this call started it. Waits until the realm is ready."""
    state_dir = cfg.state_dir
    if running_pid(state_dir) is not None:
        return False
    _require_port_free("keycloak", port)
    _require_port_free("keycloak", management_port)
    home = _unpack(fetch(cfg.cache_dir), state_dir)
    java = java_home()
    imports = home / "data" / "import"
    imports.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(REALM_FILE, imports / REALM_FILE.name)
    admin_password, client_secrets = secrets_of(cfg)
    env = {
        **os.environ,
        "JAVA_HOME": str(java),
        "JAVA_OPTS_KC_HEAP": "-Xms64m -Xmx512m",
        # Quicker to start on two cores: the client compiler only, with one thread (a dev
        # server's peak throughput does not matter here).
        "JAVA_OPTS_APPEND": "-XX:TieredStopAtLevel=1 -XX:CICompilerCount=1",
        "KC_BOOTSTRAP_ADMIN_USERNAME": ADMIN_USER,
        "KC_BOOTSTRAP_ADMIN_PASSWORD": admin_password,
        **{_secret_env(client): secret for client, secret in client_secrets.items()},
    }
    log = state_dir / "keycloak" / "keycloak.log"
    _say("keycloak", f"starting on {HOST}:{port} with {java.name} ...")
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [
                "bash",
                str(home / "bin" / "kc.sh"),
                "start-dev",
                f"--http-host={HOST}",
                f"--http-port={port}",
                f"--http-management-port={management_port}",
                # The issuer in every token: fixed, not taken from a request's Host header.
                f"--hostname=http://{HOST}:{port}",
                "--health-enabled=true",
                "--import-realm",
                "--log-level=warn",
            ],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            env=env,
            cwd=home,
            start_new_session=True,
        )
    _pidfile(state_dir).write_text(f"{proc.pid}\n", encoding="utf-8")
    deadline = time.monotonic() + START_TIMEOUT_S
    while not _ready(management_port):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            _pidfile(state_dir).unlink(missing_ok=True)
            raise DevStackError(f"keycloak did not start; last log lines:\n{_tail(log)}")
        time.sleep(0.5)
    _say("keycloak", f"ready on http://{HOST}:{port}/realms/{REALM} (pid {proc.pid})")
    return True


def down(state_dir: Path) -> bool:
    """Stop the Keycloak this state dir started; True if one was running."""
    return stop_by_pidfile("keycloak", _pidfile(state_dir), state_dir, STOP_TIMEOUT_S)
