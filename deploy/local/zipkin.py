"""The tracing dashboard of the local stack: Zipkin's server jar from Maven Central, on
loopback, keeping spans in memory. Started and stopped with the rest of the stack."""

from __future__ import annotations

import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from deploy.local.devstack import (
    DevStackError,
    _is_ours,
    _java,
    _read_pid,
    _require_port_free,
    _say,
    _tail,
    maven_artifact,
    stop_by_pidfile,
)

ZIPKIN_VERSION = "3.5.1"
ZIPKIN_ARTIFACT = f"io.zipkin:zipkin-server:{ZIPKIN_VERSION}:jar:exec"
START_TIMEOUT_S = 90.0


def jar_path(cache_dir: Path) -> Path:
    return cache_dir / "zipkin" / f"zipkin-server-{ZIPKIN_VERSION}-exec.jar"


def fetch(cache_dir: Path) -> Path:
    """Copy Zipkin's executable jar from Maven Central into the cache (once)."""
    return maven_artifact("zipkin", ZIPKIN_ARTIFACT, jar_path(cache_dir), cache_dir)


def _pidfile(state_dir: Path) -> Path:
    return state_dir / "zipkin.pid"


def running_pid(state_dir: Path) -> int | None:
    pid = _read_pid(_pidfile(state_dir))
    return pid if pid is not None and _is_ours(pid, str(state_dir)) else None


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/health", timeout=2
        ) as answer:  # loopback URL we built
            return bool(answer.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def up(state_dir: Path, cache_dir: Path, port: int) -> bool:
    """Start Zipkin on 127.0.0.1:``port`` unless it runs already; True if this call started it."""
    if running_pid(state_dir) is not None:
        return False
    _require_port_free("zipkin", port)
    jar = fetch(cache_dir)
    log = state_dir / "zipkin.log"
    state_dir.mkdir(parents=True, exist_ok=True)
    _say("zipkin", f"starting on 127.0.0.1:{port} ...")
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [
                _java(),
                "-Xms64m",
                "-Xmx384m",
                f"-Dip.state={state_dir}",
                "-jar",
                str(jar),
                f"--armeria.ports[0].port={port}",
                "--armeria.ports[0].ip=127.0.0.1",
                "--logging.level.root=WARN",
            ],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
    _pidfile(state_dir).write_text(f"{proc.pid}\n", encoding="utf-8")
    deadline = time.monotonic() + START_TIMEOUT_S
    while not _healthy(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise DevStackError(f"zipkin did not start; last log lines:\n{_tail(log)}")
        time.sleep(0.3)
    _say("zipkin", f"ready on http://127.0.0.1:{port} (pid {proc.pid})")
    return True


def down(state_dir: Path) -> bool:
    """Stop the Zipkin this state dir started; True if one was running."""
    return stop_by_pidfile("zipkin", _pidfile(state_dir), state_dir, 20)
